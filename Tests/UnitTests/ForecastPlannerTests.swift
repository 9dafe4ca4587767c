import Forecast
import Foundation
import SQLParser
import Testing

@Suite("The forecast from parse trees and catalog facts")
struct ForecastPlannerTests {
    /// `public.orders`: 8 MB, an indexed varchar(20) note, a nullable int, and a valid CHECK proving `code` not null.
    static let facts: CatalogFacts = {
        var orders = RelationFacts(oid: 100, qualifiedName: "public.orders", kind: "r", bytes: 8 << 20, rows: 50_000)
        orders.columns = [
            "note": ColumnFacts(
                typeOID: 1043,
                typeName: "character varying(20)",
                typeModifier: 24,
                notNull: false,
                provenNotNull: false,
                indexed: true
            ),
            "amount": ColumnFacts(
                typeOID: 23,
                typeName: "integer",
                typeModifier: -1,
                notNull: false,
                provenNotNull: false,
                indexed: false
            ),
            "code": ColumnFacts(
                typeOID: 25,
                typeName: "text",
                typeModifier: -1,
                notNull: false,
                provenNotNull: true,
                indexed: false
            ),
        ]
        var events = RelationFacts(oid: 200, qualifiedName: "public.events", kind: "r", bytes: 1 << 30, rows: 9_000_000)
        events.columns = [:]
        return CatalogFacts(
            relations: ["\"orders\"": orders, "\"public\".\"orders\"": orders, "\"events\"": events],
            nonVolatileFunctions: ["now"],
            typeConversions: [
                TypeChange(sourceOID: 1043, target: "pg_catalog.varchar(40)"): TypeConversion(
                    targetOID: 1043,
                    binaryCoercible: true
                ),
                TypeChange(sourceOID: 1043, target: "pg_catalog.varchar(10)"): TypeConversion(
                    targetOID: 1043,
                    binaryCoercible: true
                ),
                TypeChange(sourceOID: 1043, target: "text"): TypeConversion(targetOID: 25, binaryCoercible: true),
                TypeChange(sourceOID: 23, target: "pg_catalog.int8"): TypeConversion(
                    targetOID: 20,
                    binaryCoercible: false
                ),
            ],
            serverVersion: 150_010
        )
    }()

    private func forecast(_ sql: String, live: LiveFacts = LiveFacts(), timeout: Double? = nil) -> MigrationForecast {
        ForecastPlanner.plan(
            SQLParser.parse(sql),
            source: "test",
            facts: Self.facts,
            live: live,
            requestTimeoutSeconds: timeout,
            takenAt: Date()
        )
    }

    @Test(
        "Alembic's transactional DDL: every lock held until COMMIT; a later scan keeps the earlier AccessExclusiveLock held"
    )
    func transactionHoldsLocks() {
        let result = forecast(
            "BEGIN;\nALTER TABLE orders ADD COLUMN flag int;\nCREATE INDEX ON events (id);\nUPDATE alembic_version SET version_num = '2';\nCOMMIT;\nSELECT 1;"
        )
        #expect(result.statements[1].heldUntil == .transaction(endsAt: 5))
        #expect(result.statements[1].transactionBegin == 1)
        #expect(
            result.statements[2].stillHeld == [HeldLock(relation: "public.orders", mode: .accessExclusive, since: 2)]
        )
        #expect(result.statements[5].heldUntil == .statement)
        #expect(
            result.warnings.contains(
                "statement 3 keeps the AccessExclusiveLock on public.orders (taken by statement 2) held while it scans public.events; it is released at COMMIT (statement 5)"
            )
        )
    }

    @Test(
        "a type change rewrites unless binary-coercible with a compatible modifier",
        arguments: [
            ("ALTER TABLE orders ALTER COLUMN note TYPE varchar(40)", false),
            ("ALTER TABLE orders ALTER COLUMN note TYPE varchar(10)", true),
            ("ALTER TABLE orders ALTER COLUMN note TYPE text", false),
            ("ALTER TABLE orders ALTER COLUMN amount TYPE bigint", true),
            ("ALTER TABLE orders ALTER COLUMN note TYPE varchar(40) USING note || ''", true),
        ]
    )
    func typeChangeRewrites(sql: String, rewrites: Bool) throws {
        let analysis = try #require(forecast(sql).statements.first?.analysis)
        #expect(analysis.rewrites.isEmpty == !rewrites)
        #expect(analysis.strongestMode == .accessExclusive)
        if !rewrites && sql.contains("note") {
            #expect(analysis.scans.first?.reason.contains("rebuilds the indexes") == true)
        }
    }

    @Test("--single-transaction: the whole script is one transaction; every lock held to its end")
    func singleTransaction() {
        let sql = "ALTER TABLE orders ADD COLUMN flag int;\nCREATE INDEX ON events (id);"
        let result = ForecastPlanner.plan(
            SQLParser.parse(sql),
            source: "test",
            facts: Self.facts,
            singleTransaction: true,
            takenAt: Date()
        )
        #expect(result.statements.map(\.heldUntil) == [.transaction(endsAt: nil), .transaction(endsAt: nil)])
        #expect(
            result.statements[1].stillHeld == [HeldLock(relation: "public.orders", mode: .accessExclusive, since: 1)]
        )
        #expect(
            result.warnings == [
                "statement 2 keeps the AccessExclusiveLock on public.orders (taken by statement 1) held while it scans public.events; it is released when the script's transaction commits"
            ]
        )
        #expect(forecast(sql).statements.map(\.heldUntil) == [.statement, .statement])
    }

    @Test("SET NOT NULL scans unless a valid CHECK proves it, and says how to avoid the scan")
    func setNotNull() throws {
        let scanned = try #require(
            forecast("ALTER TABLE orders ALTER COLUMN amount SET NOT NULL").statements.first?.analysis
        )
        #expect(scanned.scans.count == 1)
        #expect(scanned.advice.contains { $0.contains("CHECK (amount IS NOT NULL) NOT VALID") })
        let proven = try #require(
            forecast("ALTER TABLE orders ALTER COLUMN code SET NOT NULL").statements.first?.analysis
        )
        #expect(proven.scans.isEmpty)
    }

    @Test("VACUUM FULL and CLUSTER copy the heap; ALTER COLUMN TYPE rewrites it row by row")
    func heapCopyKinds() throws {
        for sql in ["VACUUM FULL orders", "CLUSTER orders USING orders_pkey"] {
            let analysis = try #require(forecast(sql).statements.first?.analysis)
            #expect(analysis.rewrites.map(\.kind) == [.heapCopy], "\(sql)")
        }
        let typeChange = try #require(
            forecast("ALTER TABLE orders ALTER COLUMN amount TYPE bigint").statements.first?.analysis
        )
        #expect(typeChange.rewrites.map(\.kind) == [.rewrite])
    }

    @Test("ADD COLUMN rewrites only for a volatile default")
    func volatileDefault() throws {
        let volatile = try #require(forecast("ALTER TABLE orders ADD COLUMN r float DEFAULT random()").statements.first)
        #expect(volatile.analysis?.rewrites.first?.reason == "ADD COLUMN r DEFAULT calls random(), which is volatile")
        #expect(volatile.verdict == "blocks reads and writes; rewrites 8.0 MB (~50000 rows) under AccessExclusiveLock")
        let stable = try #require(
            forecast("ALTER TABLE orders ADD COLUMN t timestamptz DEFAULT now()").statements.first
        )
        #expect(stable.analysis?.rewrites.isEmpty == true)
        #expect(stable.verdict == "blocks reads and writes; metadata only")
    }

    @Test("a live lock conflicts only when PostgreSQL's conflict table says so")
    func conflicts() throws {
        let reader = LiveLock(
            relation: "public.orders",
            pid: 4121,
            mode: .accessShare,
            granted: true,
            state: "idle in transaction",
            transactionSeconds: 2460,
            applicationName: "monthly-report",
            query: "SELECT 1"
        )
        let live = LiveFacts(
            locks: [reader],
            activity: ["public.orders": RelationActivity(scansPerSecond: 35, rowsWrittenPerSecond: 0)],
            samplingSeconds: 1
        )
        let result = forecast(
            "ALTER TABLE orders ADD COLUMN x int; CREATE INDEX CONCURRENTLY ON orders (amount);",
            live: live,
            timeout: 60
        )
        #expect(result.statements[0].conflicts == [reader])
        #expect(result.statements[0].verdict.hasPrefix("will wait on pid 4121 now; blocks reads and writes"))
        #expect(result.statements[0].requestImpact?.contains("~2100 of them have queued") == true)
        #expect(result.statements[1].conflicts.isEmpty)
        #expect(
            result.statements[1].verdict
                == "blocks neither reads nor writes; scans 8.0 MB (~50000 rows) under ShareUpdateExclusiveLock"
        )
    }

    @Test("CONCURRENTLY inside a transaction block is named; a DO block is not forecast")
    func refusedAndOpaque() {
        let result = forecast(
            "BEGIN; CREATE INDEX CONCURRENTLY ON orders (amount); DO $$BEGIN PERFORM 1; END$$; COMMIT;"
        )
        #expect(
            result.warnings.contains("statement 2 cannot run inside a transaction block: PostgreSQL will refuse it")
        )
        #expect(
            result.warnings.contains(
                "statement 3 is not forecast: DO runs code whose statements the forecast cannot see"
            )
        )
    }

    @Test("a relation created earlier in the migration is forecast from the statement alone, and marked so")
    func createdEarlier() throws {
        let result = forecast("CREATE TABLE fresh (id int); ALTER TABLE fresh ADD COLUMN v int;")
        let analysis = try #require(result.statements[1].analysis)
        #expect(analysis.locks.map(\.relation) == ["fresh"])
        #expect(analysis.notes == ["fresh is created earlier in this migration: forecast from the statement alone"])
    }

    @Test("the JSON has the issue's fields")
    func json() {
        let text = forecast("ALTER TABLE orders ADD COLUMN x int").json.serialized()
        for field in [
            "\"taken_at\"", "\"source\"", "\"statements\"", "\"number\":1", "\"sql\"", "\"transaction\":null",
            "\"locks\"", "\"held_until\":\"statement\"", "\"rewrites\"", "\"scans\"", "\"relations\"",
            "\"bytes\":8388608", "\"rows\":50000", "\"conflicts_now\"", "\"verdict\"", "\"advice\"", "\"warnings\"",
        ] {
            #expect(text.contains(field), Comment(rawValue: field))
        }
    }
}
