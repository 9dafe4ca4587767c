/// What psql reads that is not SQL: meta-commands (`\gset`, `\connect`, `\set`, …) and the data lines of
/// `COPY … FROM STDIN`. Found in one pass over the script, outside quotes, comments and dollar quotes, and blanked
/// (each byte a space, line ends kept) so that the parser sees only SQL at the same lines and columns, and no
/// statement is swallowed.
package struct PsqlText: Sendable, Equatable {
    /// One piece skipped.
    package struct Skipped: Sendable, Equatable {
        /// The line it starts on, from 1.
        package var line: Int
        /// What it was, such as `psql meta-command \gset` or `COPY data (3 lines)`.
        package var what: String
    }

    /// The script with the pieces blanked.
    package var sql: [UInt8]
    /// The pieces, in order.
    package var skipped: [Skipped]
    /// Where psql would send each statement: the offsets just after each `;` outside quotes, comments and dollar
    /// quotes (and after each meta-command that sends the query buffer), in order.
    package var statementEnds: [Int]

    /// The meta-commands that send the query buffer, as a `;` does.
    static let sending: Set<String> = ["g", "gx", "gset", "gexec", "gdesc", "crosstabview", "watch"]

    /// Scans `bytes` once.
    package init(_ bytes: [UInt8]) {
        var scanner = Scanner(bytes)
        scanner.run()
        sql = scanner.output
        skipped = scanner.skipped
        statementEnds = scanner.statementEnds
    }

    private struct Scanner {
        var output: [UInt8]
        var skipped: [Skipped] = []
        var statementEnds: [Int] = []
        var index = 0
        var line = 1
        /// Where the statement under way starts.
        var statementStart = 0

        init(_ bytes: [UInt8]) { output = bytes }

        var count: Int { output.count }

        func byte(_ offset: Int) -> UInt8? { offset < count ? output[offset] : nil }

        mutating func advance() {
            if output[index] == 0x0A { line += 1 }
            index += 1
        }

        mutating func run() {
            while index < count {
                let current = output[index]
                switch current {
                case UInt8(ascii: "'"): quoted(UInt8(ascii: "'"), backslashes: isEscapeString())
                case UInt8(ascii: "\""): quoted(UInt8(ascii: "\""), backslashes: false)
                case UInt8(ascii: "-") where byte(index + 1) == UInt8(ascii: "-"): lineComment()
                case UInt8(ascii: "/") where byte(index + 1) == UInt8(ascii: "*"): blockComment()
                case UInt8(ascii: "$") where dollarTag() != nil: dollarQuoted(dollarTag()!)
                case UInt8(ascii: "\\"): metaCommand()
                case UInt8(ascii: ";"):
                    advance()
                    endOfStatement()
                default: advance()
                }
            }
        }

        /// `E'…'`: backslash escapes.
        func isEscapeString() -> Bool {
            guard index > 0, output[index - 1] == UInt8(ascii: "E") || output[index - 1] == UInt8(ascii: "e") else {
                return false
            }
            return index < 2 || !isIdentifier(output[index - 2])
        }

        func isIdentifier(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte >= 0x80 || byte == UInt8(ascii: "$")
        }

        mutating func quoted(_ quote: UInt8, backslashes: Bool) {
            advance()
            while index < count {
                if backslashes, output[index] == UInt8(ascii: "\\"), index + 1 < count {
                    advance()
                    advance()
                } else if output[index] == quote {
                    advance()
                    if byte(index) == quote { advance() } else { return }
                } else {
                    advance()
                }
            }
        }

        mutating func lineComment() {
            while index < count, output[index] != 0x0A { advance() }
        }

        mutating func blockComment() {
            var depth = 0
            repeat {
                if byte(index) == UInt8(ascii: "/"), byte(index + 1) == UInt8(ascii: "*") {
                    depth += 1
                    advance()
                    advance()
                } else if byte(index) == UInt8(ascii: "*"), byte(index + 1) == UInt8(ascii: "/") {
                    depth -= 1
                    advance()
                    advance()
                } else {
                    advance()
                }
            } while depth > 0 && index < count
        }

        /// `$tag$` at `index` (not inside an identifier such as `a$b`), as bytes.
        func dollarTag() -> [UInt8]? {
            if index > 0, isIdentifier(output[index - 1]) { return nil }
            var end = index + 1
            while end < count, output[end] != UInt8(ascii: "$") {
                let byte = output[end]
                guard isIdentifier(byte), !(end == index + 1 && byte >= 0x30 && byte <= 0x39) else { return nil }
                end += 1
            }
            guard end < count else { return nil }
            return Array(output[index...end])
        }

        mutating func dollarQuoted(_ tag: [UInt8]) {
            for _ in tag { advance() }
            while index < count {
                if output[index] == UInt8(ascii: "$"), index + tag.count <= count,
                    output[index..<(index + tag.count)].elementsEqual(tag)
                {
                    for _ in tag { advance() }
                    return
                }
                advance()
            }
        }

        /// A backslash outside quotes: a psql meta-command, to the end of its line. One that sends the query buffer
        /// (`\g`, `\gset`, …) ends the statement as a `;` would.
        mutating func metaCommand() {
            let start = index
            let startLine = line
            var end = index + 1
            while end < count, output[end] != 0x0A { end += 1 }
            let name = String(decoding: output[(start + 1)..<end].prefix { isIdentifier($0) }, as: UTF8.self)
            let text = String(decoding: output[start..<min(end, start + 40)], as: UTF8.self)
            for offset in start..<end { output[offset] = 0x20 }
            let elsewhere =
                ["c", "connect"].contains(name) ? " (the statements after it run where it connects; forecast here)" : ""
            skipped.append(
                Skipped(line: startLine, what: "psql meta-command \(text.trimmingTrailingSpaces)\(elsewhere)")
            )
            index = end
            if PsqlText.sending.contains(name) {
                output[start] = UInt8(ascii: ";")
                endOfStatement()
            }
        }

        /// After a `;`: when the statement is `COPY … FROM STDIN`, its data follows from the next line to `\.`.
        mutating func endOfStatement() {
            let statement = output[statementStart..<index]
            statementStart = index
            statementEnds.append(index)
            guard Self.isCopyFromStdin(statement) else { return }
            while index < count, output[index] != 0x0A { advance() }
            guard index < count else { return }
            advance()
            let first = index
            let firstLine = line
            var lines = 0
            while index < count {
                var end = index
                while end < count, output[end] != 0x0A { end += 1 }
                let isEnd =
                    output[index..<end].elementsEqual([UInt8(ascii: "\\"), UInt8(ascii: ".")])
                    || output[index..<end].elementsEqual([UInt8(ascii: "\\"), UInt8(ascii: "."), 0x0D])
                for offset in index..<end { output[offset] = 0x20 }
                lines += isEnd ? 0 : 1
                index = end
                if index < count { advance() }
                if isEnd { break }
            }
            if index > first {
                skipped.append(Skipped(line: firstLine, what: "COPY … FROM STDIN data (\(lines) line(s))"))
            }
            statementStart = index
        }

        static func isCopyFromStdin(_ statement: ArraySlice<UInt8>) -> Bool {
            let bytes = Array(statement)
            let start = SQLParser.leadingCommentLength(bytes)
            // Nearly every statement is not a COPY: told by its first four bytes, before any words are made.
            guard bytes.count >= start + 4,
                bytes[start..<(start + 4)].map({ $0 | 0x20 }).elementsEqual("copy".utf8)
            else { return false }
            let words = String(decoding: bytes.dropFirst(start), as: UTF8.self)
                .uppercased().split(whereSeparator: { $0.isWhitespace || $0 == ";" || $0 == "(" || $0 == ")" })
            guard words.first == "COPY" else { return false }
            return zip(words, words.dropFirst()).contains { $0 == "FROM" && $1 == "STDIN" }
        }
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var text = self
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
