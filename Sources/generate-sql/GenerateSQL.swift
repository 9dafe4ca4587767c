import Foundation
import SQLEmbedding

/// Writes `Sources/PGWardenSQL/Queries.swift` from the files of `sql/`.
///
/// Run from the package root: `swift run generate-sql`.
@main
struct GenerateSQL {
    static func main() throws {
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let directory = root.appendingPathComponent("sql")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
        let files = try names.map { name in
            SQLEmbedding.File(
                name: name,
                contents: try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            )
        }
        let output = root.appendingPathComponent(SQLEmbedding.outputPath)
        try SQLEmbedding.swiftSource(for: files).write(to: output, atomically: true, encoding: .utf8)
        print("wrote \(SQLEmbedding.outputPath) from \(files.count) files of sql/")
    }
}
