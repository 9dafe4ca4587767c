import CPgQuery
import FoundationEssentials
import WardenSupport

/// One statement of a script, as PostgreSQL's parser splits it.
public struct ParsedStatement: Sendable {
    /// Its number in the script, counted from 1.
    public let number: Int
    /// Its text, as written (without the terminating semicolon).
    public let sql: String
    /// The line of the script on which it starts, counted from 1.
    public let line: Int
    /// Its parse tree (the typed node under `RawStmt.stmt`), or the parser's error.
    public let result: Result<ParseNode, ParseFailure>
}

/// Why PostgreSQL's parser rejected a statement.
public struct ParseFailure: Error, Sendable, Equatable {
    /// The parser's message, such as `syntax error at or near "FOO"`.
    public let message: String
    /// Where in the statement the parser stopped: line and column in the script, counted from 1.
    public let line: Int
    /// See ``line``.
    public let column: Int
}

/// PostgreSQL's own parser (libpg_query), for whole scripts.
public enum SQLParser {
    /// The PostgreSQL version whose grammar the parser knows, such as `15.1`.
    public static let grammarVersion = PG_VERSION
    /// Its major version, such as `15`.
    public static let grammarMajorVersion = Int(PG_MAJORVERSION) ?? 15

    /// Splits `script` into statements and parses each.
    ///
    /// A script the parser accepts whole is split where the parser puts each statement. When a statement fails to
    /// parse, the script is split by PostgreSQL's scanner (which honours quoting, dollar quotes and comments without
    /// needing valid grammar) and each statement is parsed alone, so that the others are still parsed.
    public static func parse(_ script: String) -> [ParsedStatement] {
        parseScript(script).statements
    }

    /// Splits `script` into statements and parses each, after blanking what psql reads that is not SQL
    /// (``PsqlText``): its meta-commands and `COPY … FROM STDIN` data, returned as `skipped`.
    public static func parseScript(_ script: String) -> (statements: [ParsedStatement], skipped: [PsqlText.Skipped]) {
        let psql = PsqlText(Array(script.utf8))
        guard !psql.skipped.isEmpty else { return (parseSQL(script), []) }
        return (parseSQL(String(decoding: psql.sql, as: UTF8.self)), psql.skipped)
    }

    private static func parseSQL(_ script: String) -> [ParsedStatement] {
        let bytes = Array(script.utf8)
        let lines = LineIndex(bytes)
        switch parseWhole(script) {
        case .success(let raws):
            return raws.enumerated().compactMap { index, raw in
                statement(number: index + 1, bytes: bytes, range: raw.range, lines: lines) { _ in .success(raw.tree) }
            }.renumbered()
        case .failure:
            return scannerRanges(script, length: bytes.count).enumerated().compactMap { index, range in
                statement(number: index + 1, bytes: bytes, range: range, lines: lines) { text in
                    parseAlone(text, startingAt: range.lowerBound, lines: lines)
                }
            }.renumbered()
        }
    }

    private struct RawStatement {
        let range: Range<Int>
        let tree: ParseNode
    }

    private static func statement(
        number: Int,
        bytes: [UInt8],
        range: Range<Int>,
        lines: LineIndex,
        parse: (String) -> Result<ParseNode, ParseFailure>
    ) -> ParsedStatement? {
        let clamped = max(0, range.lowerBound)..<min(bytes.count, max(range.lowerBound, range.upperBound))
        let text = String(decoding: bytes[clamped], as: UTF8.self)
        let leading = leadingCommentLength(Array(bytes[clamped]))
        let body = String(decoding: bytes[clamped].dropFirst(leading), as: UTF8.self)
        let trimmed = body.trimmed { $0.isWhitespace || $0 == ";" }
        guard !trimmed.isEmpty else { return nil }
        return ParsedStatement(
            number: number,
            sql: trimmed,
            line: lines.position(of: clamped.lowerBound + leading).line,
            result: parse(text)
        )
    }

    /// The bytes of whitespace and comments (`-- …` to the end of a line, `/* … */` nested) that open a statement:
    /// the parser puts them in the statement; an operator reads the statement without them.
    static func leadingCommentLength(_ bytes: [UInt8]) -> Int {
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0C:
                index += 1
            case 0x2D where index + 1 < bytes.count && bytes[index + 1] == 0x2D:
                while index < bytes.count && bytes[index] != 0x0A { index += 1 }
            case 0x2F where index + 1 < bytes.count && bytes[index + 1] == 0x2A:
                var depth = 0
                repeat {
                    if index + 1 < bytes.count, bytes[index] == 0x2F, bytes[index + 1] == 0x2A {
                        depth += 1
                        index += 2
                    } else if index + 1 < bytes.count, bytes[index] == 0x2A, bytes[index + 1] == 0x2F {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                } while depth > 0 && index < bytes.count
            default:
                return index
            }
        }
        return index
    }

    /// The statements of a script the parser accepts, with their byte ranges.
    private static func parseWhole(_ script: String) -> Result<[RawStatement], ParseFailure> {
        let result = pg_query_parse(script)
        defer { pg_query_free_parse_result(result) }
        if let error = result.error {
            return .failure(ParseFailure(message: String(cString: error.pointee.message), line: 0, column: 0))
        }
        guard let text = result.parse_tree,
            let tree = try? ParseNode(json: Data(String(cString: text).utf8))
        else {
            return .failure(ParseFailure(message: "the parser returned no parse tree", line: 0, column: 0))
        }
        let length = script.utf8.count
        return .success(
            tree["stmts"]?.elements.map { raw in
                let start = raw["stmt_location"]?.integer ?? 0
                let declared = raw["stmt_len"]?.integer ?? 0
                let end = declared == 0 ? length : start + declared
                return RawStatement(range: start..<end, tree: raw["stmt"] ?? .null)
            } ?? []
        )
    }

    /// One statement alone: its tree, or the parser's message with its position in the script.
    private static func parseAlone(
        _ text: String,
        startingAt offset: Int,
        lines: LineIndex
    ) -> Result<ParseNode, ParseFailure> {
        let result = pg_query_parse(text)
        defer { pg_query_free_parse_result(result) }
        if let error = result.error {
            // The parser counts the cursor in characters, from 1.
            let characters = max(0, Int(error.pointee.cursorpos) - 1)
            let bytes = String(text.prefix(characters)).utf8.count
            let position = lines.position(of: offset + bytes)
            return .failure(
                ParseFailure(
                    message: String(cString: error.pointee.message),
                    line: position.line,
                    column: position.column
                )
            )
        }
        guard let json = result.parse_tree, let tree = try? ParseNode(json: Data(String(cString: json).utf8)),
            let first = tree["stmts"]?.elements.first?["stmt"]
        else {
            return .failure(ParseFailure(message: "the parser returned no statement", line: 0, column: 0))
        }
        return .success(first)
    }

    /// Byte ranges of the statements of `script` as PostgreSQL's scanner splits it.
    private static func scannerRanges(_ script: String, length: Int) -> [Range<Int>] {
        let result = pg_query_split_with_scanner(script)
        defer { pg_query_free_split_result(result) }
        guard result.error == nil, let statements = result.stmts else { return [0..<length] }
        return (0..<Int(result.n_stmts)).compactMap { index in
            guard let split = statements[index]?.pointee else { return nil }
            let start = Int(split.stmt_location)
            return start..<(start + Int(split.stmt_len))
        }
    }
}

extension [ParsedStatement] {
    /// Numbers counted from 1 after empty pieces were dropped.
    fileprivate func renumbered() -> [ParsedStatement] {
        enumerated().map { index, statement in
            ParsedStatement(number: index + 1, sql: statement.sql, line: statement.line, result: statement.result)
        }
    }
}

/// Byte offsets of a script into lines and columns (columns count characters, from 1).
struct LineIndex {
    private let bytes: [UInt8]
    private let lineStarts: [Int]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var starts = [0]
        for (index, byte) in bytes.enumerated() where byte == 0x0A { starts.append(index + 1) }
        lineStarts = starts
    }

    func position(of offset: Int) -> (line: Int, column: Int) {
        let clamped = Swift.min(Swift.max(0, offset), bytes.count)
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= clamped { low = middle } else { high = middle - 1 }
        }
        let start = lineStarts[low]
        let column = String(decoding: bytes[start..<clamped], as: UTF8.self).count + 1
        return (low + 1, column)
    }
}
