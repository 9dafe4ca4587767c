import FoundationEssentials

/// A parsed configuration file: the subset of TOML that pgwarden's policy and config files use,
/// with the line of every value, so that every error can name its line.
///
/// Supported: `key = value` (bare or quoted keys), `[table]`, `[[array of tables]]`, basic
/// (`"…"`, with escapes) and literal (`'…'`) strings, integers, floats, booleans, and arrays
/// of these (over several lines too), and `#` comments. Anything else is an error naming its
/// line, never a silent misreading.
package struct ConfigDocument: Sendable {
    /// The file's name, for messages.
    package let file: String
    /// The keys before the first table header.
    package var root: ConfigTable
    /// `[name]` tables, by name.
    package var tables: [String: ConfigTable]
    /// `[[name]]` tables, by name, in order.
    package var arrayTables: [String: [ConfigTable]]

    /// Parses `text`; `file` names it in errors.
    package init(parsing text: String, file: String) throws(ConfigError) {
        var parser = ConfigParser(text: text, file: file)
        self = try parser.parse()
    }

    /// Reads and parses the file at `path`.
    package init(contentsOfFile path: String, describedAs kind: String) throws(ConfigError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(file: path, line: 0, "no such \(kind)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: 0, "cannot read the \(kind) (permission denied, or a directory?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, "the \(kind) is not UTF-8 text")
        }
        try self.init(parsing: text, file: path)
    }

    init(file: String, root: ConfigTable, tables: [String: ConfigTable], arrayTables: [String: [ConfigTable]]) {
        self.file = file
        self.root = root
        self.tables = tables
        self.arrayTables = arrayTables
    }
}

/// One table: its entries in order, with their lines.
package struct ConfigTable: Sendable {
    /// `""` for the root, else the header's name.
    package let name: String
    /// The header's line (1 for the root).
    package let line: Int
    /// The entries, in order.
    package var entries: [ConfigEntry]
}

/// `key = value` at a line.
package struct ConfigEntry: Sendable {
    package let key: String
    package let value: ConfigValue
    package let line: Int
}

/// A value, with the line it starts on.
package indirect enum ConfigValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([ConfigValue])

    /// For messages: "a string", "an integer", ….
    package var kindDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a number"
        case .bool: "a boolean"
        case .array: "an array"
        }
    }
}
