import CPgQuery
import FoundationEssentials
import WardenSupport

/// One statement of a script, as PostgreSQL's parser splits it.
package struct ParsedStatement: Sendable {
    /// Its number in the script, counted from 1.
    package let number: Int
    /// Its text, as written (without the terminating semicolon).
    package let sql: String
    /// The line of the script on which it starts, counted from 1.
    package let line: Int
    /// Its parse tree (the typed node under `RawStmt.stmt`), or the parser's error.
    package let result: Result<ParseNode, ParseFailure>
}

/// Why PostgreSQL's parser rejected a statement.
package struct ParseFailure: Error, Sendable, Equatable {
    /// The parser's message, such as `syntax error at or near "FOO"`.
    package let message: String
    /// Where in the statement the parser stopped: line and column in the script, counted from 1.
    package let line: Int
    /// See ``line``.
    package let column: Int
    /// The parser reached the end of the text with a statement unfinished (a piece cut inside one).
    let isAtEndOfInput: Bool

    init(message: String, line: Int, column: Int, isAtEndOfInput: Bool = false) {
        self.message = message
        self.line = line
        self.column = column
        self.isAtEndOfInput = isAtEndOfInput
    }
}

/// PostgreSQL's own parser (libpg_query), for whole scripts.
package enum SQLParser {
    /// The PostgreSQL version whose grammar the parser knows, such as `15.1`.
    package static let grammarVersion = PG_VERSION
    /// Its major version, such as `15`.
    package static let grammarMajorVersion = Int(PG_MAJORVERSION) ?? 15

    /// Splits `script` into statements and parses each.
    ///
    /// A script the parser accepts whole is split where the parser puts each statement. When a statement fails to
    /// parse, the script is split by PostgreSQL's scanner (which honours quoting, dollar quotes and comments without
    /// needing valid grammar) and each statement is parsed alone, so that the others are still parsed.
    package static func parse(_ script: String) -> [ParsedStatement] {
        parseScript(script).statements
    }

    /// Splits `script` into statements and parses each, after blanking what psql reads that is not SQL
    /// (``PsqlText``): its meta-commands and `COPY … FROM STDIN` data, returned as `skipped`.
    ///
    /// The script is parsed a piece of about `pieceBytes` (256 KB) at a time, each piece ending where psql would send a
    /// statement, so that time stays linear and memory bounded however long the script: the parser's own tree
    /// and text of a 50 MB script would take gigabytes at once. A piece the parser finds cut short (a `;` inside a
    /// `BEGIN ATOMIC` body or a rule's parentheses, which psql does not send on) is read again twice as long.
    package static func parseScript(_ script: String) -> (statements: [ParsedStatement], skipped: [PsqlText.Skipped]) {
        parseScript(script, pieceBytes: 256 * 1024)
    }

    /// ``parseScript(_:)`` in pieces of `pieceBytes` (the tests' pieces are small, so that their scripts can be).
    package static func parseScript(_ script: String, pieceBytes: Int) -> (
        statements: [ParsedStatement], skipped: [PsqlText.Skipped]
    ) {
        var pieces = ScriptPieces(script, pieceBytes: pieceBytes)
        var statements: [ParsedStatement] = []
        while let piece = pieces.next() { statements += piece }
        return (statements, pieces.skipped)
    }

    /// A script's statements a piece at a time (``parseScript(_:)``'s pieces): a caller that plans each piece and
    /// lets its parse trees go holds the trees of one piece at a time, not the script's.
    package struct ScriptPieces {
        private let bytes: [UInt8]
        private let lines: LineIndex
        private var ends: ArraySlice<Int>
        private var start = 0
        private var numbered = 0
        private let pieceBytes: Int
        /// What psql reads that is not SQL, blanked before parsing.
        package let skipped: [PsqlText.Skipped]
        /// How many statements the script has at most: where psql would send one (a piece may hold fewer, such
        /// as `;;`), for a caller that keeps something per statement to make room for all at once.
        package let expectedStatements: Int

        package init(_ script: String, pieceBytes: Int = 256 * 1024) {
            let psql = PsqlText(Array(script.utf8))
            bytes = psql.sql
            lines = LineIndex(psql.sql)
            ends = psql.statementEnds[...]
            skipped = psql.skipped
            expectedStatements = psql.statementEnds.count + 1
            self.pieceBytes = pieceBytes
        }

        /// The next piece's statements, numbered on from the last piece's; `nil` at the end of the script.
        package mutating func next() -> [ParsedStatement]? {
            while start < bytes.count {
                let first = boundary(atLeast: start + pieceBytes)
                let piece = SQLParser.parsePiece(bytes, lines: lines, from: start, to: first) { boundary(atLeast: $0) }
                start = piece.end
                guard !piece.statements.isEmpty else { continue }
                return piece.statements.map { statement in
                    numbered += 1
                    return ParsedStatement(
                        number: numbered,
                        sql: statement.sql,
                        line: statement.line,
                        result: statement.result
                    )
                }
            }
            return nil
        }

        /// The first place psql sends a statement at or after `offset`, or the script's end.
        private mutating func boundary(atLeast offset: Int) -> Int {
            while let first = ends.first, first < offset { ends = ends.dropFirst() }
            return ends.first ?? bytes.count
        }
    }

    /// The statements of `bytes[from..<to]` (not numbered yet) and where the piece ended: a piece the parser finds
    /// cut short is read again twice as long, to the boundary `widen` gives.
    private static func parsePiece(
        _ bytes: [UInt8],
        lines: LineIndex,
        from start: Int,
        to initialEnd: Int,
        widen: (Int) -> Int
    ) -> (statements: [ParsedStatement], end: Int) {
        var end = initialEnd
        var statements: [ParsedStatement] = []
        while true {
            let piece = String(decoding: bytes[start..<end], as: UTF8.self)
            switch parseWhole(piece) {
            case .success(let raws):
                for raw in raws {
                    let range = (start + raw.range.lowerBound)..<(start + raw.range.upperBound)
                    if let statement = statement(bytes: bytes, range: range, lines: lines, result: .success(raw.tree)) {
                        statements.append(statement)
                    }
                }
            case .failure(let failure) where failure.isAtEndOfInput && end < bytes.count:
                end = widen(start + 2 * (end - start))
                continue
            case .failure:
                statements += parsedAlone(piece, at: start, bytes: bytes, lines: lines)
            }
            return (statements, end)
        }
    }

    /// The statements of a piece the parser rejects: split by the scanner, each parsed alone.
    private static func parsedAlone(_ piece: String, at start: Int, bytes: [UInt8], lines: LineIndex)
        -> [ParsedStatement]
    {
        var ranges = scannerRanges(piece, length: piece.utf8.count)
        // The scanner leaves out a last statement that never ends (`CREATE TABLE t (a int` at the end of a file):
        // it is still a statement, and it fails.
        let tail = ranges.last?.upperBound ?? 0
        if tail < piece.utf8.count { ranges.append(tail..<piece.utf8.count) }
        return ranges.compactMap { range in
            let range = (start + range.lowerBound)..<(start + range.upperBound)
            let clamped = clamp(range, bytes.count)
            let text = String(decoding: bytes[clamped], as: UTF8.self)
            return statement(
                bytes: bytes,
                range: range,
                lines: lines,
                result: parseAlone(text, startingAt: clamped.lowerBound, lines: lines)
            )
        }
    }

    private struct RawStatement {
        let range: Range<Int>
        let tree: ParseNode
    }

    private static func clamp(_ range: Range<Int>, _ count: Int) -> Range<Int> {
        max(0, range.lowerBound)..<min(count, max(range.lowerBound, range.upperBound))
    }

    /// The statement at `range` of the script, numbered later; `nil` when it holds only space, comments or `;`.
    private static func statement(
        bytes: [UInt8],
        range: Range<Int>,
        lines: LineIndex,
        result: Result<ParseNode, ParseFailure>
    ) -> ParsedStatement? {
        let clamped = clamp(range, bytes.count)
        let leading = leadingCommentLength(bytes[clamped])
        var body = bytes[(clamped.lowerBound + leading)..<clamped.upperBound]
        while let last = body.last, last == UInt8(ascii: ";") || last == 0x20 || (0x09...0x0D).contains(last) {
            body = body.dropLast()
        }
        var trimmed = String(decoding: body, as: UTF8.self)
        if !isTrimmed(body) { trimmed = trimmed.trimmed { $0.isWhitespace || $0 == ";" } }
        guard !trimmed.isEmpty else { return nil }
        return ParsedStatement(
            number: 0,
            sql: trimmed,
            line: lines.position(of: clamped.lowerBound + leading).line,
            result: result
        )
    }

    /// Whether `body` starts and ends with ASCII that is neither space nor `;` (nearly every statement): then
    /// there is nothing to trim, and a walk by characters of each of a million statements is saved.
    private static func isTrimmed(_ body: ArraySlice<UInt8>) -> Bool {
        guard let first = body.first, let last = body.last, first < 0x80, last < 0x80 else { return false }
        return first != UInt8(ascii: ";") && first != 0x20 && !(0x09...0x0D).contains(first)
            && last != UInt8(ascii: ";") && last != 0x20 && !(0x09...0x0D).contains(last)
    }

    /// The bytes of whitespace and comments (`-- …` to the end of a line, `/* … */` nested) that open a statement:
    /// the parser puts them in the statement; an operator reads the statement without them.
    static func leadingCommentLength(_ bytes: [UInt8]) -> Int {
        leadingCommentLength(bytes[...])
    }

    static func leadingCommentLength(_ slice: ArraySlice<UInt8>) -> Int {
        slice.withUnsafeBufferPointer { bytes in
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
    }

    /// The statements of a script the parser accepts, with their byte ranges.
    private static func parseWhole(_ script: String) -> Result<[RawStatement], ParseFailure> {
        let result = pg_query_parse(script)
        defer { pg_query_free_parse_result(result) }
        if let error = result.error {
            let message = String(cString: error.pointee.message)
            return .failure(
                ParseFailure(message: message, line: 0, column: 0, isAtEndOfInput: message.hasSuffix("at end of input"))
            )
        }
        guard let text = result.parse_tree,
            let tree = try? ParseNode(parseTree: text)
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
        guard let json = result.parse_tree, let tree = try? ParseNode(parseTree: json),
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

extension ParseNode {
    /// The tree of libpg_query's JSON, read where libpg_query left it (no copy of what can be megabytes).
    fileprivate init(parseTree text: UnsafeMutablePointer<CChar>) throws {
        let bytes = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        var count = 0
        while bytes[count] != 0 { count += 1 }
        self = try ParseTreeJSON.parse(UnsafeBufferPointer(start: bytes, count: count))
    }
}
