import SQLParser
import Testing

@testable import Forecast

/// What the rehearsal never runs on the real server: statements that reach beyond the copy's database.
@Suite("The rehearsal's steps")
struct RehearsalStepTests {
    static func step(_ sql: String, isolated: Bool = false) -> RehearsalStep {
        RehearsalStep.of(SQLParser.parse(sql)[0], isolated: isolated)
    }

    @Test(
        "changes to shared objects are skipped on the real server, rehearsed on an isolated one",
        arguments: [
            "GRANT CONNECT ON DATABASE postgres TO PUBLIC",
            "REVOKE ALL ON DATABASE postgres FROM PUBLIC",
            "GRANT CREATE ON TABLESPACE pg_default TO PUBLIC",
            "GRANT SET ON PARAMETER work_mem TO PUBLIC",
            "ALTER DATABASE postgres OWNER TO postgres",
            "ALTER DATABASE postgres RENAME TO other",
            "ALTER ROLE postgres RENAME TO other",
            "ALTER TABLESPACE pg_default OWNER TO postgres",
            "COMMENT ON DATABASE postgres IS 'x'",
            "COMMENT ON ROLE postgres IS 'x'",
            "REASSIGN OWNED BY a TO b",
            "DROP OWNED BY a",
            "IMPORT FOREIGN SCHEMA public FROM SERVER loop INTO local",
        ]
    )
    func sharedObjects(_ sql: String) {
        guard case .skip(let reason) = Self.step(sql) else {
            Issue.record("\(sql) would run on the real server")
            return
        }
        #expect(reason.hasSuffix(RehearsalStep.elsewhere), "\(reason)")
        #expect(Self.step(sql, isolated: true) == .run)
    }

    @Test(
        "per-database grants, renames and comments are rehearsed",
        arguments: [
            "GRANT SELECT ON orders TO PUBLIC", "ALTER TABLE orders RENAME TO purchases",
            "ALTER TABLE orders OWNER TO postgres", "COMMENT ON TABLE orders IS 'x'",
            "GRANT USAGE ON SCHEMA public TO PUBLIC",
        ]
    )
    func perDatabase(_ sql: String) {
        #expect(Self.step(sql) == .run)
    }
}

/// On the real server, what could run code that is not PostgreSQL's own is not run on the copy (issue 22, H1).
@Suite("The rehearsal's steps: code that is not PostgreSQL's own")
struct RehearsalStepUserCodeTests {
    static let copy = RehearsalUserCode(
        functions: ["adv_kill", "uuid_generate_v4"],
        operators: ["==="],
        domains: ["evil"]
    )

    static func step(_ sql: String, isolated: Bool = false, _ userCode: RehearsalUserCode = copy) -> RehearsalStep {
        RehearsalStep.of(SQLParser.parse(sql)[0], isolated: isolated, userCode: userCode)
    }

    static func query(_ sql: String, _ userCode: RehearsalUserCode = copy) -> RelationCodeQuery? {
        RehearsalStep.relationCodeQuery(SQLParser.parse(sql)[0], userCode: userCode)
    }

    @Test(
        "a call of a function, an operator or a domain that is not PostgreSQL's own is skipped on the real server",
        arguments: [
            ("SELECT adv_kill()", "adv_kill()"), ("SELECT public.ADV_KILL()", "adv_kill()"),
            ("UPDATE orders SET id = id WHERE adv_kill() IS NULL", "adv_kill()"),
            ("ALTER TABLE orders ADD COLUMN u uuid DEFAULT uuid_generate_v4()", "uuid_generate_v4()"),
            ("CREATE INDEX ON orders (adv_kill())", "adv_kill()"),
            ("CREATE INDEX CONCURRENTLY ON orders (adv_kill())", "adv_kill()"),
            ("SELECT 1 === 2", "operator ==="), ("SELECT '1'::evil", "domain evil"),
            ("ALTER TABLE orders ADD COLUMN e evil", "domain evil"),
            ("CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f()", "event trigger"),
            ("ALTER EVENT TRIGGER e ENABLE", "event trigger"),
        ]
    )
    func userCodeSkipped(_ sql: String, _ named: String) {
        guard case .unseenCode(let reason) = Self.step(sql) else {
            Issue.record("\(sql) would run on the real server")
            return
        }
        #expect(reason.contains(named), "\(reason)")
        #expect(reason.hasSuffix("--rehearse-dsn rehearses it on a server of its own"), "\(reason)")
        #expect(Self.step(sql, isolated: true) != .unseenCode(reason: reason))
    }

    @Test("PostgreSQL's own functions, and a function first created by the script, then called")
    func createdByScript() {
        #expect(Self.step("SELECT now(), lower('A'), count(*) FROM orders") == .run)
        #expect(Self.step("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'") == .run)
        var code = RehearsalUserCode()
        for sql in [
            "CREATE FUNCTION Mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE AGGREGATE agg (int) (sfunc = int4pl, stype = int)",
            "CREATE OPERATOR ### (function = int4pl, leftarg = int, rightarg = int)",
            "ALTER FUNCTION other() RENAME TO renamed",
            "PREPARE p AS SELECT * FROM orders",
        ] {
            code.learn(SQLParser.parse(sql)[0], ran: true, inBlock: false)
        }
        for sql in ["SELECT mine()", "SELECT agg(id) FROM orders", "SELECT 1 ### 2", "SELECT renamed()"] {
            guard case .unseenCode = Self.step(sql, code) else {
                Issue.record("\(sql) would run")
                continue
            }
        }
        #expect(Self.query("EXECUTE p", code) == RelationCodeQuery(names: ["\"orders\""], events: 0))
    }

    @Test("the relations a query or DML names are looked up, with the trigger events it can fire")
    func relationQueries() {
        #expect(
            Self.query("SELECT * FROM archive.\"Odd\" JOIN v ON true")
                == RelationCodeQuery(
                    names: ["\"archive\".\"Odd\"", "\"v\""],
                    events: 0
                )
        )
        #expect(Self.query("UPDATE orders SET id = id WHERE id < 0")?.events == 16)
        #expect(Self.query("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2")?.events == 20)
        #expect(Self.query("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING")?.events == 4)
        #expect(Self.query("WITH d AS (DELETE FROM a RETURNING *) SELECT * FROM d")?.events == 8)
        #expect(Self.query("MERGE INTO a USING b ON a.id = b.id WHEN MATCHED THEN DELETE")?.events == 28)
        #expect(Self.query("TRUNCATE a")?.events == 32)
        #expect(Self.query("REFRESH MATERIALIZED VIEW m")?.names == ["\"m\""])
    }

    @Test("DDL is looked up only once the script may have written rows in the copy")
    func ddlOnlyWithRows() {
        let alter = "ALTER TABLE orders ALTER COLUMN id TYPE bigint"
        #expect(Self.query(alter) == nil)
        var code = Self.copy
        code.learn(SQLParser.parse("INSERT INTO orders VALUES (1)")[0], ran: true, inBlock: false)
        #expect(Self.query(alter, code) == RelationCodeQuery(names: ["\"orders\""], events: 0))
    }

    @Test("a finding skips the statement, naming the relation, what runs and the function")
    func findings() {
        #expect(RehearsalStep.skipping(for: []) == nil)
        let step = RehearsalStep.skipping(for: [
            RelationCode(relation: "orders", what: "trigger adv", function: "adv_kill"),
            RelationCode(relation: "v", what: "its query", function: "adv_kill"),
        ])
        guard case .unseenCode(let reason) = step else {
            Issue.record("not skipped")
            return
        }
        #expect(
            reason.contains(
                "using orders runs code that is not PostgreSQL's own (trigger adv calls adv_kill() and 1 more)"
            )
        )
    }

    @Test(
        "operators a form implies, casts that convert unnamed, and what every database shares are not run on the real server",
        arguments: [
            ("SELECT CASE 1 WHEN 2 THEN 3 END", "operator ="), ("SELECT 1 IN (SELECT 2)", "operator ="),
            ("SELECT 1 NOT IN (SELECT 2)", "operator ="), ("SELECT 1 = ANY (SELECT 2)", "operator ="),
            ("SELECT 1 BETWEEN 0 AND 2", "operator <="), ("SELECT 1::evt", "type evt"),
            ("ALTER TABLE orders ADD COLUMN e evt[] DEFAULT '{}'", "type evt"),
            ("LOCK TABLE pg_authid", "pg_authid"), ("REINDEX INDEX pg_catalog.pg_authid_rolname_index", "pg_authid"),
            ("VACUUM FULL pg_database", "pg_database"), ("VACUUM", "every table"), ("ANALYZE", "every table"),
            ("CLUSTER", "every clustered table"), ("REINDEX SYSTEM postgres", "system catalogs"),
            ("CHECKPOINT", "checkpoints"), ("SELECT pg_stat_reset_slru()", "pg_stat_reset_slru"),
            ("SELECT * FROM pg_class FOR UPDATE", "pg_class"),
        ]
    )
    func impliedAndShared(_ sql: String, _ named: String) {
        var code = RehearsalUserCode(operators: ["=", "<="])
        code.learn(
            SQLParser.parse("CREATE CAST (int AS evt) WITH FUNCTION f(int) AS ASSIGNMENT")[0],
            ran: true,
            inBlock: false
        )
        #expect(code.castTypes == ["evt"])  // not int: PostgreSQL's own keyword type
        switch Self.step(sql, code) {
        case .unseenCode(let reason), .skip(let reason):
            #expect(reason.contains(named), "\(reason)")
            // A function reaching beyond the database is skipped on a server of its own too.
            if !sql.contains("pg_stat_reset") { #expect(reason.hasSuffix(RehearsalStep.elsewhere), "\(reason)") }
        default: Issue.record("\(sql) would run on the real server")
        }
        #expect(Self.step(sql, isolated: true, code) == Self.step(sql, isolated: true))
    }

    @Test("a plain read of a catalog, and the statements that use nothing of the script's, still run")
    func stillRehearsed() {
        let code = RehearsalUserCode(operators: ["=", "<="], castTypes: ["evt"])
        for sql in [
            "SELECT count(*) FROM pg_catalog.pg_authid", "SELECT CASE WHEN true THEN 1 END", "SELECT 1 + 2",
            "VACUUM orders", "ANALYZE orders", "REINDEX TABLE orders", "SELECT 1::int",
        ] {
            #expect([.run, .outsideBlock].contains(Self.step(sql, code)), "\(sql): \(Self.step(sql, code))")
        }
    }
}
