/// Hides passwords in other sessions' SQL (`pg_stat_activity.query`) before pgwarden shows or
/// records it: the string literal after a `PASSWORD` keyword becomes `'***'`.
///
///     QueryTextRedaction.masked("ALTER ROLE app PASSWORD 'hunter2'")
///     // "ALTER ROLE app PASSWORD '***'"
///
/// Covers `CREATE/ALTER ROLE|USER … [ENCRYPTED] PASSWORD '…'` (also the hash psql's `\password`
/// sends), `OPTIONS (password '…')` of a user mapping, and `password = '…'`, with every literal
/// form (`'…'`, `E'…'`, `U&'…'`, `$tag$…$tag$`), and a literal the server cut short (masked to the
/// end). `PASSWORD` inside a literal, a quoted identifier or a comment is not a keyword and
/// `PASSWORD NULL` holds no secret: both pass unchanged.
package enum QueryTextRedaction {
    /// What replaces each password literal.
    package static let mask = "'***'"

    /// `sql` with each password literal replaced by ``mask``.
    package static func masked(_ sql: String) -> String {
        // Fast path: most queries never say it.
        guard sql.utf8.count >= 8, sql.lowercased().contains("password") else { return sql }
        var scanner = Scanner(Array(sql.unicodeScalars))
        return scanner.run()
    }

    /// One pass over the text: literals, quoted identifiers and comments are copied whole, a
    /// `password` word has the literal after it replaced.
    private struct Scanner {
        let text: [Unicode.Scalar]
        var position = 0
        var output = String.UnicodeScalarView()

        init(_ text: [Unicode.Scalar]) { self.text = text }

        mutating func run() -> String {
            while position < text.count {
                let start = position
                if let end = quotedEnd(at: position) ?? commentEnd(at: position) {
                    copy(upTo: end)
                } else if isWordStart(position) {
                    position = wordEnd(from: position)
                    copy(from: start, upTo: position)
                    if String(String.UnicodeScalarView(text[start..<position])).lowercased() == "password" {
                        maskLiteralAfterKeyword()
                    }
                } else {
                    copy(upTo: position + 1)
                }
            }
            return String(output)
        }

        /// After `password`: spaces, an optional `=`, spaces, then a literal, which is masked.
        private mutating func maskLiteralAfterKeyword() {
            var next = skipSpaces(from: position)
            if next < text.count, text[next] == "=" { next = skipSpaces(from: next + 1) }
            guard let literal = literalEnd(at: next) else { return }
            copy(upTo: next)
            output.append(contentsOf: QueryTextRedaction.mask.unicodeScalars)
            position = literal
        }

        private mutating func copy(upTo end: Int) {
            copy(from: position, upTo: end)
            position = end
        }

        private mutating func copy(from start: Int, upTo end: Int) {
            output.append(contentsOf: text[start..<min(end, text.count)])
        }

        private func skipSpaces(from index: Int) -> Int {
            var index = index
            while index < text.count, text[index].properties.isWhitespace { index += 1 }
            return index
        }

        private func isIdentifier(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || scalar == "$" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
        }

        private func isWordStart(_ index: Int) -> Bool {
            let scalar = text[index]
            guard scalar == "_" || scalar.properties.isAlphabetic else { return false }
            return index == 0 || !isIdentifier(text[index - 1])
        }

        private func wordEnd(from index: Int) -> Int {
            var index = index
            while index < text.count, isIdentifier(text[index]) { index += 1 }
            return index
        }

        /// The end of a literal or quoted identifier starting at `index`, or nil.
        private func quotedEnd(at index: Int) -> Int? {
            if text[index] == "\"" { return closing("\"", from: index + 1, backslashes: false) }
            return literalEnd(at: index)
        }

        /// The end of a string literal starting at `index` (`'…'`, `E'…'`, `U&'…'`, `$tag$…$tag$`),
        /// or nil when none starts there; the text's end when it is not closed.
        private func literalEnd(at index: Int) -> Int? {
            guard index < text.count, index == 0 || !isIdentifier(text[index - 1]) || text[index] == "'" else {
                return nil
            }
            let scalar = text[index]
            let rest = text[index...].prefix(3).map { Character($0).lowercased() }.joined()
            if scalar == "'" { return closing("'", from: index + 1, backslashes: false) }
            if rest.hasPrefix("e'") { return closing("'", from: index + 2, backslashes: true) }
            if rest == "u&'" { return closing("'", from: index + 3, backslashes: false) }
            if scalar == "$", let tagEnd = dollarTagEnd(at: index) {
                let tag = Array(text[index..<tagEnd])
                var search = tagEnd
                while search + tag.count <= text.count {
                    if Array(text[search..<(search + tag.count)]) == tag { return search + tag.count }
                    search += 1
                }
                return text.count
            }
            return nil
        }

        /// The end of `$tag$` (or `$$`) at `index`, or nil.
        private func dollarTagEnd(at index: Int) -> Int? {
            var next = index + 1
            while next < text.count, text[next] != "$" {
                guard isIdentifier(text[next]), text[next] != "$" else { return nil }
                guard next > index + 1 || !("0"..."9").contains(text[next]) else { return nil }
                next += 1
            }
            return next < text.count ? next + 1 : nil
        }

        /// The index after the `quote` that closes a quoted text whose content starts at `index`
        /// (a doubled quote is one quote of content); the text's end when it is not closed.
        private func closing(_ quote: Unicode.Scalar, from index: Int, backslashes: Bool) -> Int {
            var next = index
            while next < text.count {
                if backslashes, text[next] == "\\" {
                    next += 2
                } else if text[next] == quote {
                    guard next + 1 < text.count, text[next + 1] == quote else { return next + 1 }
                    next += 2
                } else {
                    next += 1
                }
            }
            return text.count
        }

        /// The end of a `--` or `/* */` comment at `index`, or nil.
        private func commentEnd(at index: Int) -> Int? {
            guard index + 1 < text.count else { return nil }
            if text[index] == "-", text[index + 1] == "-" {
                return text[index...].firstIndex(of: "\n").map { $0 + 1 } ?? text.count
            }
            guard text[index] == "/", text[index + 1] == "*" else { return nil }
            var next = index + 2
            while next + 1 < text.count, !(text[next] == "*" && text[next + 1] == "/") { next += 1 }
            return min(next + 2, text.count)
        }
    }
}
