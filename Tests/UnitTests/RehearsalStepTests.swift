import Forecast
import SQLParser
import Testing

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
        ]
    )
    func sharedObjects(_ sql: String) {
        guard case .skip(let reason) = Self.step(sql) else {
            Issue.record("\(sql) would run on the real server")
            return
        }
        #expect(reason.hasSuffix("on the real server"), "\(reason)")
        #expect(Self.step(sql, isolated: true) == .run)
    }

    @Test(
        "per-database grants, renames and comments are rehearsed",
        arguments: [
            "GRANT SELECT ON orders TO PUBLIC", "ALTER TABLE orders RENAME TO purchases",
            "ALTER TABLE orders OWNER TO postgres", "COMMENT ON TABLE orders IS 'x'", "GRANT USAGE ON SCHEMA public TO PUBLIC",
        ]
    )
    func perDatabase(_ sql: String) {
        #expect(Self.step(sql) == .run)
    }
}
