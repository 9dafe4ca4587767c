import FoundationEssentials
import WardenSupport

/// The line-oriented parser behind ``ConfigDocument``.
struct ConfigParser {
    private let file: String
    private let lines: [Substring]
    private var index = 0

    /// The deepest nesting of arrays a file may have: policies and configs use one level, and the
    /// reader recurses once per level (a file of `[[[…]]]` 3,000 deep would overflow the stack).
    static let maximumDepth = 16

    init(text: String, file: String) {
        self.file = file
        lines = Self.lines(of: text)
    }

    /// The lines of `text`, ended by LF or CRLF (in Swift, `"\r\n"` is one `Character`, not a `"\n"`).
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    }

    mutating func parse() throws(ConfigError) -> ConfigDocument {
        var root = ConfigTable(name: "", line: 1, entries: [])
        var tables: [String: ConfigTable] = [:]
        var arrayTables: [String: [ConfigTable]] = [:]
        enum Current { case root, table(String), arrayTable(String) }
        var current = Current.root
        while index < lines.count {
            let lineNumber = index + 1
            var cursor = Cursor(lines[index].hasSuffix("\r") ? lines[index].dropLast() : lines[index])
            index += 1
            cursor.skipWhitespace()
            if cursor.atEndOrComment { continue }
            if cursor.peek == "[" {
                let isArray = cursor.text.hasPrefix("[[")
                cursor.advance(isArray ? 2 : 1)
                cursor.skipWhitespace()
                let name = try key(&cursor, line: lineNumber)
                cursor.skipWhitespace()
                guard cursor.consume(isArray ? "]]" : "]") else {
                    throw error(lineNumber, "expected '\(isArray ? "]]" : "]")' to close the table header")
                }
                try expectEnd(&cursor, line: lineNumber)
                if isArray {
                    arrayTables[name, default: []].append(ConfigTable(name: name, line: lineNumber, entries: []))
                    current = .arrayTable(name)
                } else {
                    guard tables[name] == nil, arrayTables[name] == nil else {
                        throw error(lineNumber, "table [\(name)] is defined twice")
                    }
                    tables[name] = ConfigTable(name: name, line: lineNumber, entries: [])
                    current = .table(name)
                }
                continue
            }
            let name = try key(&cursor, line: lineNumber)
            cursor.skipWhitespace()
            guard cursor.consume("=") else {
                throw error(lineNumber, "expected '=' after the key '\(TerminalText.value(name))'")
            }
            cursor.skipWhitespace()
            let value = try self.value(&cursor, line: lineNumber, depth: 0)
            try expectEnd(&cursor, line: lineNumber)
            let entry = ConfigEntry(key: name, value: value, line: lineNumber)
            func append(_ table: inout ConfigTable) throws(ConfigError) {
                if let earlier = table.entries.first(where: { $0.key == name }) {
                    throw ConfigError(
                        file: file,
                        line: lineNumber,
                        key: name,
                        "set twice (first at line \(earlier.line))"
                    )
                }
                table.entries.append(entry)
            }
            switch current {
            case .root: try append(&root)
            case .table(let table): try append(&tables[table]!)
            case .arrayTable(let table):
                var last = arrayTables[table]!.removeLast()
                try append(&last)
                arrayTables[table]!.append(last)
            }
        }
        return ConfigDocument(file: file, root: root, tables: tables, arrayTables: arrayTables)
    }

    private func error(_ line: Int, _ message: String) -> ConfigError {
        ConfigError(file: file, line: line, message)
    }

    private func expectEnd(_ cursor: inout Cursor, line: Int) throws(ConfigError) {
        cursor.skipWhitespace()
        guard cursor.atEndOrComment else {
            throw error(line, "unexpected '\(cursor.text.prefix(20))'")
        }
    }

    private mutating func key(_ cursor: inout Cursor, line: Int) throws(ConfigError) -> String {
        if cursor.peek == "\"" || cursor.peek == "'" {
            guard case .string(let text) = try value(&cursor, line: line, depth: 0) else {
                throw error(line, "expected a key")
            }
            return text
        }
        let name = cursor.take { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        guard !name.isEmpty else { throw error(line, "expected a key, found '\(cursor.text.prefix(20))'") }
        if cursor.peek == "." { throw error(line, "dotted keys are not supported: write a [table] instead") }
        return String(name)
    }

    /// A value; arrays may continue on the following lines, and nest at most ``maximumDepth`` deep.
    private mutating func value(_ cursor: inout Cursor, line: Int, depth: Int) throws(ConfigError) -> ConfigValue {
        switch cursor.peek {
        case "\"":
            if cursor.text.hasPrefix("\"\"\"") { throw error(line, "multi-line strings are not supported") }
            return .string(try basicString(&cursor, line: line))
        case "'":
            if cursor.text.hasPrefix("'''") { throw error(line, "multi-line strings are not supported") }
            cursor.advance(1)
            let text = cursor.take { $0 != "'" }
            guard cursor.consume("'") else { throw error(line, "unterminated string") }
            return .string(String(text))
        case "[":
            guard depth < Self.maximumDepth else {
                // `index` is the line after the cursor's: the line this array opens on.
                throw error(index, "arrays nested more than \(Self.maximumDepth) deep")
            }
            cursor.advance(1)
            var elements: [ConfigValue] = []
            while true {
                cursor.skipWhitespace()
                if cursor.atEndOrComment {
                    guard index < lines.count else { throw error(line, "unterminated array") }
                    cursor = Cursor(lines[index])
                    index += 1
                    continue
                }
                if cursor.consume("]") { return .array(elements) }
                elements.append(try value(&cursor, line: line, depth: depth + 1))
                cursor.skipWhitespace()
                if cursor.consume(",") { continue }
                if cursor.atEndOrComment { continue }
                guard cursor.peek == "]" else { throw error(line, "expected ',' or ']' in the array") }
            }
        case "{":
            throw error(line, "inline tables are not supported: write a [table] instead")
        default:
            let word = cursor.take { !$0.isWhitespace && $0 != "," && $0 != "]" && $0 != "#" }
            switch word {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default:
                let digits = word.replacing("_", with: "")
                if let integer = Int(digits) { return .integer(integer) }
                if let number = Double(digits), number.isFinite, digits.contains(where: { $0.isNumber }) {
                    return .float(number)
                }
                throw error(
                    line,
                    word.isEmpty
                        ? "expected a value" : "'\(TerminalText.value(word))' is not a value (strings need quotes)"
                )
            }
        }
    }

    private func basicString(_ cursor: inout Cursor, line: Int) throws(ConfigError) -> String {
        cursor.advance(1)
        var result = ""
        while let character = cursor.peek {
            cursor.advance(1)
            switch character {
            case "\"": return result
            case "\\":
                guard let escaped = cursor.peek else { break }
                cursor.advance(1)
                switch escaped {
                case "\\": result.append("\\")
                case "\"": result.append("\"")
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                case "b": result.append("\u{08}")
                case "f": result.append("\u{0C}")
                case "u", "U":
                    let hex = cursor.take(count: escaped == "u" ? 4 : 8)
                    guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw error(line, "invalid unicode escape \\\(escaped)\(hex)")
                    }
                    result.unicodeScalars.append(scalar)
                default:
                    throw error(line, "invalid escape \\\(escaped) (write \\\\ for a backslash)")
                }
            default:
                result.append(character)
            }
        }
        throw error(line, "unterminated string")
    }
}

/// A position in one line.
private struct Cursor {
    var text: Substring

    init(_ text: Substring) {
        self.text = text
    }

    var peek: Character? { text.first }
    var atEndOrComment: Bool { text.isEmpty || text.first == "#" }

    mutating func skipWhitespace() {
        text = text.drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" })
    }

    mutating func advance(_ count: Int) {
        text = text.dropFirst(count)
    }

    mutating func consume(_ token: String) -> Bool {
        guard text.hasPrefix(token) else { return false }
        text = text.dropFirst(token.count)
        return true
    }

    mutating func take(while predicate: (Character) -> Bool) -> Substring {
        let taken = text.prefix(while: predicate)
        text = text.dropFirst(taken.count)
        return taken
    }

    mutating func take(count: Int) -> Substring {
        let taken = text.prefix(count)
        text = text.dropFirst(taken.count)
        return taken
    }
}
