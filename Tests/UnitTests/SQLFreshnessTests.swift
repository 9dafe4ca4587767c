import Foundation
import PGWardenSQL
import SQLEmbedding
import Testing

/// The checked-in `Sources/PGWardenSQL/Queries.swift` must be exactly what `generate-sql` makes of `sql/`.
@Suite("Embedded SQL")
struct SQLFreshnessTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("Queries.swift is fresh: run `swift run generate-sql` when this fails")
    func fresh() throws {
        let directory = Self.packageRoot.appendingPathComponent("sql")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .map {
                SQLEmbedding.File(
                    name: $0,
                    contents: try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)
                )
            }
        #expect(!files.isEmpty)
        let checkedIn = try String(
            contentsOf: Self.packageRoot.appendingPathComponent(SQLEmbedding.outputPath),
            encoding: .utf8
        )
        #expect(SQLEmbedding.swiftSource(for: files) == checkedIn)
    }

    @Test("the embedded text is the file's, byte for byte")
    func embeddedTextMatchesFile() throws {
        let file = Self.packageRoot.appendingPathComponent("sql/waiting_backends.sql")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(Queries.waitingBackends + "\n" == text)
    }

    @Test("file names become Swift identifiers")
    func identifiers() {
        #expect(SQLEmbedding.identifier(for: "lock_waits.sql") == "lockWaits")
        #expect(SQLEmbedding.identifier(for: "session_role.sql") == "sessionRole")
    }

    @Test("the idle poll reads neither pg_locks nor pg_blocking_pids")
    func idlePollIsCheap() {
        let statement = Queries.waitingBackends.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined()
        #expect(!statement.contains("pg_locks"))
        #expect(!statement.contains("pg_blocking_pids"))
        #expect(!statement.contains("pg_stat_activity"))
    }
}
