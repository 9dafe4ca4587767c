// libFuzzer target: the TOML-subset reader and the policy built on it. Any input is a document
// or one ConfigError with a line inside the file; nothing traps.
import ConfigFile
import Policy
import WardenSupport

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.count
    func check(_ error: ConfigError) {
        guard error.line >= 0, error.line <= lines, !error.summary.isEmpty else {
            fatalError("line \(error.line) of \(lines): \(error.summary)")
        }
    }
    do {
        let document = try ConfigDocument(parsing: text, file: "fuzz.toml")
        for table in [document.root] + Array(document.tables.values) + document.arrayTables.values.flatMap({ $0 }) {
            for entry in table.entries where entry.line < 1 || entry.line > lines {
                fatalError("entry \(entry.key) at line \(entry.line) of \(lines)")
            }
        }
    } catch {
        check(error)
    }
    do {
        let policy = try Policy(parsing: text, file: "fuzz.toml")
        guard policy.interval >= .milliseconds(10), policy.interval <= DurationSyntax.maximum,
            (1...Policy.maximumActionsPerMinute).contains(policy.maxActionsPerMinute)
        else { fatalError("a policy out of range") }
    } catch {
        check(error)
    }
    return 0
}
