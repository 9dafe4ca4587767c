import Forecast
import Foundation
import SQLParser
import Testing

@Suite("Blocks: the span during which a transaction of the migration blocks reads or writes of a relation")
struct LockBlocksTests {
    static let facts: CatalogFacts = {
        var release = RelationFacts(
            oid: 1,
            qualifiedName: "public.release",
            kind: "r",
            bytes: 300 << 20,
            rows: 1_000_000
        )
        release.tableBytes = 200 << 20
        release.indexCount = 3
        release.columns = [
            "n": ColumnFacts(
                typeOID: 23,
                typeName: "integer",
                typeModifier: -1,
                notNull: false,
                provenNotNull: false,
                indexed: false
            )
        ]
        var parent = RelationFacts(oid: 2, qualifiedName: "public.parent", kind: "r", bytes: 1 << 20, rows: 1000)
        parent.tableBytes = 1 << 20
        return CatalogFacts(
            relations: ["\"release\"": release, "\"parent\"": parent],
            typeConversions: [
                TypeChange(sourceOID: 23, target: "pg_catalog.int8"): TypeConversion(
                    targetOID: 20,
                    binaryCoercible: false
                )
            ],
            serverVersion: 150_000
        )
    }()

    static func forecast(_ sql: String, timeout: Double? = nil, activity: [String: RelationActivity] = [:])
        -> MigrationForecast
    {
        ForecastPlanner.plan(SQLParser.parse(sql), source: "test", facts: facts, takenAt: Date())
            .judged(
                live: LiveFacts(activity: activity, samplingSeconds: 1),
                requestTimeoutSeconds: timeout
            )
            .estimated(calibration: DurationEstimateTests.calibration, note: "calibrated")
    }

    static let script = """
        BEGIN;
        ALTER TABLE release ALTER COLUMN n TYPE bigint;
        CREATE INDEX ON release (n);
        ALTER TABLE release ADD CONSTRAINT fk FOREIGN KEY (n) REFERENCES parent (id);
        COMMIT;
        ALTER TABLE release ALTER COLUMN n SET NOT NULL;
        """

    @Test("one block per relation and transaction, from the first blocking lock to COMMIT, with everything inside")
    func spans() {
        let result = Self.forecast(Self.script)
        let release = result.blocks.filter { $0.relation == "public.release" }
        #expect(release.count == 2)
        let first = release[0]
        #expect(first.blocksReads && first.fromStatement == 2 && first.untilStatement == 5 && !first.ownTransaction)
        // rewrite 200 MB at 50 MB/s (4 s), 3 indexes rebuilt at 100 MB/s (6 s), an index build (2 s), the check
        // at 80 MB/s (2.5 s).
        #expect(abs((first.estimate?.expected ?? 0) - 14.5) < 1e-6)
        #expect(first.parts.map(\.label).prefix(2) == ["rewrite 200 MB", "3 indexes rebuilt"])
        let parent = result.blocks.first { $0.relation == "public.parent" }
        #expect(parent?.blocksReads == false)
        #expect(parent?.fromStatement == 4)
        #expect(abs((parent?.estimate?.expected ?? 0) - 2.5) < 1e-6)
        // SET NOT NULL in a transaction of its own: the block is the statement.
        let own = release[1]
        #expect(own.ownTransaction && own.fromStatement == 6 && own.untilStatement == 6)
        #expect(abs((own.estimate?.expected ?? 0) - 1.0) < 1e-6)
        #expect(result.statements[0].estimatedSeconds == nil)
        #expect(result.statements[4].estimatedSeconds == nil)
    }

    @Test("the summary line names the span, the seconds and what takes them")
    func summaryLine() {
        let result = Self.forecast(Self.script)
        let text = ForecastRenderer(visible: { $0 }).render(result)
        #expect(
            text.contains(
                "public.release: reads and writes blocked from statement 2 to COMMIT (statement 5), ~14 s (up to"
                    + " 29 s): rewrite 200 MB ~4.0 s, 3 indexes rebuilt ~6.0 s, index build on 200 MB ~2.0 s,"
                    + " foreign-key check 200 MB ~2.5 s"
            ),
            Comment(rawValue: text)
        )
        #expect(text.contains("public.release: reads and writes blocked during statement 6, ~1.0 s"))
    }

    @Test("against the request timeout: the blocks that outlast it, and the requests killed at the sampled rate")
    func requestTimeout() {
        let activity = ["public.release": RelationActivity(scansPerSecond: 10, rowsWrittenPerSecond: 2)]
        let result = Self.forecast(Self.script, timeout: 5, activity: activity)
        let outlasting = result.blocksOutlastingTimeout
        #expect(outlasting.map(\.fromStatement) == [2])
        #expect(outlasting.first?.requestsPerSecond == 12)
        #expect(abs((outlasting.first?.requestsKilled(by: 5) ?? 0) - 12 * 9.5) < 1e-6)
        let text = ForecastRenderer(visible: { $0 }).render(result)
        #expect(text.contains("verdict: public.release's reads and writes are expected to stay blocked ~14 s"))
        #expect(text.contains("~114 requests killed at ~12.0 requests/s"))
    }

    @Test("without a calibration: blocks without seconds, said so")
    func uncalibrated() {
        let result = ForecastPlanner.plan(SQLParser.parse(Self.script), source: "t", facts: Self.facts, takenAt: Date())
            .estimated(calibration: nil, note: "no estimate in seconds: no CREATEDB")
        #expect(result.blocks.allSatisfy { $0.estimate == nil })
        #expect(result.statements.allSatisfy { $0.estimatedSeconds == nil })
        let text = ForecastRenderer(visible: { $0 }).render(result)
        #expect(text.contains("seconds: no estimate in seconds: no CREATEDB"))
        #expect(text.contains("for an unknown time (no calibration)"))
    }

    @Test("a relation the migration creates blocks no one")
    func createdRelations() {
        let result = Self.forecast("BEGIN;\nCREATE TABLE fresh (id int);\nCREATE INDEX ON fresh (id);\nCOMMIT;")
        #expect(result.blocks.isEmpty)
    }

    @Test("a block with nothing under the lock that takes time: no \"~0.00 s\", what is known said instead")
    func metadataOnly() {
        let result = Self.forecast("BEGIN;\nALTER TABLE release ADD COLUMN note text;\nCOMMIT;")
        let text = ForecastRenderer(visible: { $0 }).render(result)
        #expect(
            text.contains(
                "public.release: reads and writes blocked from statement 2 to COMMIT (statement 3), for as long as the"
                    + " transaction's own statements take: no rewrite, scan or index build under the lock"
            ),
            Comment(rawValue: text)
        )
        #expect(!text.contains("~0.00 s"))
    }
}
