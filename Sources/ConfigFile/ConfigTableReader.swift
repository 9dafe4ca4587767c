import FoundationEssentials
import WardenSupport

/// Reads typed settings from one table, and refuses keys nobody read.
///
///     var reader = ConfigTableReader(table, file: document.file, context: "rule 'x'")
///     let action = try reader.string("action", required: true)
///     try reader.finish()   // an unknown key is an error naming its line
package struct ConfigTableReader {
    private let table: ConfigTable
    private let file: String
    private let context: String?
    private var read: Set<String> = []

    /// Creates a reader; `context` (such as `rule 'name'`) prefixes key names in errors.
    package init(_ table: ConfigTable, file: String, context: String? = nil) {
        self.table = table
        self.file = file
        self.context = context
    }

    /// The line of `key`, or the table's header line when it is absent.
    package func line(of key: String) -> Int {
        table.entries.first { $0.key == key }?.line ?? table.line
    }

    /// The value of `key`, if given (without marking it read).
    package func value(of key: String) -> ConfigValue? {
        table.entries.first { $0.key == key }?.value
    }

    /// An error about `key` at its line.
    package func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: line(of: key), key: context.map { "\($0): \(key)" } ?? key, message)
    }

    private mutating func entry(_ key: String) -> ConfigEntry? {
        read.insert(key)
        return table.entries.first { $0.key == key }
    }

    /// A string.
    package mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let entry = entry(key) else { return nil }
        guard case .string(let text) = entry.value else {
            throw error(key, "expected a string, found \(entry.value.kindDescription)")
        }
        return text
    }

    /// A string or an array of strings.
    package mutating func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let entry = entry(key) else { return nil }
        switch entry.value {
        case .string(let text): return [text]
        case .array(let values):
            var strings: [String] = []
            for value in values {
                guard case .string(let text) = value else {
                    throw error(key, "expected an array of strings, found \(value.kindDescription) in it")
                }
                strings.append(text)
            }
            return strings
        default:
            throw error(key, "expected a string or an array of strings, found \(entry.value.kindDescription)")
        }
    }

    /// A boolean.
    package mutating func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let entry = entry(key) else { return nil }
        guard case .bool(let value) = entry.value else {
            throw error(key, "expected true or false, found \(entry.value.kindDescription)")
        }
        return value
    }

    /// An integer in `range`.
    package mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let entry = entry(key) else { return nil }
        guard case .integer(let value) = entry.value else {
            throw error(
                key,
                "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(entry.value.kindDescription)"
            )
        }
        guard range.contains(value) else {
            throw error(key, "must be from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
        return value
    }

    /// A duration in `range`, written as a string with a unit: `"250ms"`, `"10s"`, `"5min"`, `"1h"`.
    /// A bare number is an error (whose unit would it be?).
    package mutating func duration(_ key: String, in range: DurationRange = .positive) throws(ConfigError) -> Duration?
    {
        guard let entry = entry(key) else { return nil }
        switch entry.value {
        case .string(let text):
            do {
                return try DurationSyntax.parse(text, in: range)
            } catch {
                throw self.error(key, "'\(TerminalText.value(text))' \(error.message)")
            }
        case .integer, .float:
            let number = Self.numberText(entry.value)
            if number.hasPrefix("-") {
                // No unit would make it right: say what the setting accepts, not how to write a refused value.
                do { _ = try DurationSyntax.parse(number + "s", in: range) } catch {
                    throw self.error(key, "\(number) \(error.message)")
                }
            }
            throw error(key, "a bare number has no unit: write \"\(number)ms\" or \"\(number)s\"")
        default:
            throw error(key, "expected a duration such as \"10s\", found \(entry.value.kindDescription)")
        }
    }

    private static func numberText(_ value: ConfigValue) -> String {
        switch value {
        case .integer(let value): String(value)
        case .float(let value) where value.magnitude < 1e15: String(value)
        default: "500"
        }
    }

    /// Fails on the first key that was never read: an unknown (or misspelt) key.
    package func finish(known: [String] = []) throws(ConfigError) {
        for entry in table.entries where !read.contains(entry.key) && !known.contains(entry.key) {
            let valid = (read.union(known)).sorted().joined(separator: ", ")
            throw ConfigError(
                file: file,
                line: entry.line,
                key: context.map { "\($0): \(entry.key)" } ?? entry.key,
                "unknown key (known keys here: \(valid))"
            )
        }
    }
}
