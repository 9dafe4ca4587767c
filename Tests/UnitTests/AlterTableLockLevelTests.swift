import Foundation
import SQLParser
import Testing

@testable import Forecast

@Suite("ALTER TABLE subcommands and their lock levels")
struct AlterTableLockLevelTests {
    /// Every `AlterTableType` of the parser's grammar, from the protobuf schema libpg-query-dev installs.
    static let subtypes: [String] = {
        guard let proto = try? String(contentsOfFile: "/usr/include/pg_query/pg_query.proto", encoding: .utf8),
            let start = proto.range(of: "enum AlterTableType"),
            let end = proto[start.upperBound...].range(of: "}")
        else { return [] }
        return proto[start.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line in
            let name = line.trimmingCharacters(in: .whitespaces).prefix { $0 != " " && $0 != "=" }
            return name.hasPrefix("AT_") ? String(name) : nil
        }
    }()

    @Test("every subcommand of the grammar has a lock level")
    func everySubcommandIsKnown() {
        #expect(Self.subtypes.count == 71)
        let unknown = Self.subtypes.filter { AlterTableLockLevel.mode(of: .object(["subtype": .string($0)])) == nil }
        #expect(unknown.isEmpty, Comment(rawValue: unknown.joined(separator: ", ")))
    }

    @Test("a statement takes its strongest subcommand's level; storage parameters by their own level")
    func strongestSubcommand() throws {
        let analyzer = StatementAnalyzer(facts: CatalogFacts())
        let modes = [
            "ALTER TABLE t SET (fillfactor = 70, autovacuum_enabled = off)": LockMode.shareUpdateExclusive,
            "ALTER TABLE t SET (fillfactor = 70, user_catalog_table = true)": .accessExclusive,
            "ALTER TABLE t ALTER COLUMN c SET STATISTICS 100, VALIDATE CONSTRAINT k": .shareUpdateExclusive,
            "ALTER TABLE t ALTER COLUMN c SET STATISTICS 100, DISABLE TRIGGER x": .shareRowExclusive,
            "ALTER TABLE t ADD FOREIGN KEY (c) REFERENCES u (id)": .shareRowExclusive,
            "ALTER TABLE t ADD FOREIGN KEY (c) REFERENCES u (id), ADD COLUMN d int": .accessExclusive,
            "ALTER TABLE t DETACH PARTITION p CONCURRENTLY": .shareUpdateExclusive,
        ]
        for (sql, mode) in modes {
            let tree = try SQLParser.parse(sql)[0].result.get()
            #expect(analyzer.analyse(tree).locks.first?.mode == mode, Comment(rawValue: sql))
        }
    }
}
