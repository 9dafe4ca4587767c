/// A regular expression that pgwarden cannot read: the reason and where, counted in characters.
package struct RegularExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    package let reason: String
    /// The offset (in Unicode scalars) of the character at fault.
    package let offset: Int

    package var description: String { "\(reason) at offset \(offset)" }
}

/// Reads the syntax `BoundedRegularExpression` documents into a `RegexNode`.
struct RegexParser {
    /// The inline flags in force: `i`, `s`, `m`, `x`.
    struct Flags: Equatable {
        var caseInsensitive = false
        var dotAll = false
        var multiline = false
        var extended = false
    }

    private let pattern: [Unicode.Scalar]
    private var position = 0
    private var depth = 0

    /// The deepest nesting of groups: deeper is refused, not read with a stack that could overflow.
    static let maximumDepth = 200

    /// The most a counted repetition may say (`{1000}`), as RE2 allows.
    static let maximumCount = 1000

    static func parse(_ source: String) throws(RegularExpressionError) -> RegexNode {
        var parser = RegexParser(pattern: Array(source.unicodeScalars))
        var flags = Flags()
        let node = try parser.alternation(&flags)
        if parser.position < parser.pattern.count {
            throw parser.failure("an unmatched )")
        }
        return node
    }

    private init(pattern: [Unicode.Scalar]) {
        self.pattern = pattern
    }

    private var peek: Unicode.Scalar? { position < pattern.count ? pattern[position] : nil }

    private func failure(_ reason: String, at offset: Int? = nil) -> RegularExpressionError {
        RegularExpressionError(reason: reason, offset: offset ?? position)
    }

    private mutating func take(_ expected: Unicode.Scalar) -> Bool {
        guard peek == expected else { return false }
        position += 1
        return true
    }

    private mutating func next() throws(RegularExpressionError) -> Unicode.Scalar {
        guard let character = peek else { throw failure("an unexpected end of the expression") }
        position += 1
        return character
    }

    /// Branches separated by `|`, up to a `)` or the end. An inline flag carries on into later branches.
    private mutating func alternation(_ flags: inout Flags) throws(RegularExpressionError) -> RegexNode {
        var branches = [try sequence(&flags)]
        while take("|") {
            branches.append(try sequence(&flags))
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func sequence(_ flags: inout Flags) throws(RegularExpressionError) -> RegexNode {
        var items: [RegexNode] = []
        while let character = peek, character != "|", character != ")" {
            if flags.extended && skipSpaceAndComment() { continue }
            guard let atom = try atom(&flags) else { continue }
            items.append(try quantified(atom, flags))
        }
        return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .concatenation(items))
    }

    /// Under `x`: white space and `#` comments outside brackets are not part of the pattern.
    private mutating func skipSpaceAndComment() -> Bool {
        guard let character = peek else { return false }
        if character.properties.isWhitespace {
            position += 1
            return true
        }
        guard character == "#" else { return false }
        while let skipped = peek, !RegexCharacters.isLineTerminator(skipped) { position += 1 }
        return true
    }

    /// One atom, or `nil` for an inline flag group such as `(?i)` (which changes `flags`).
    private mutating func atom(_ flags: inout Flags) throws(RegularExpressionError) -> RegexNode? {
        let start = position
        switch try next() {
        case "(": return try group(&flags)
        case "[": return .atom(.set(try RegexClassParser.parse(pattern, &position, flags)))
        case ".": return .atom(.any(dotAll: flags.dotAll))
        case "^": return .assertion(.lineStart(multiline: flags.multiline))
        case "$": return .assertion(.lineEnd(multiline: flags.multiline))
        case "\\": return try escape(flags)
        case "*", "+", "?", "{": throw failure("nothing to repeat", at: start)
        case let character: return .atom(.scalar(character, caseInsensitive: flags.caseInsensitive))
        }
    }

    /// After `(`: a group, a non-capturing or named group, or inline flags.
    private mutating func group(_ outer: inout Flags) throws(RegularExpressionError) -> RegexNode? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else {
            throw failure("groups nested more than \(Self.maximumDepth) deep", at: position - 1)
        }
        var inner = outer
        if take("?") {
            let start = position
            switch peek {
            case ":": position += 1
            case "<" where position + 1 < pattern.count && !["=", "!"].contains(pattern[position + 1]):
                while let character = peek, character != ">" { position += 1 }
                guard take(">") else { throw failure("an unterminated group name", at: start) }
            case "=", "!", "<": throw failure("lookaround assertions are not supported", at: start)
            case ">": throw failure("atomic groups are not supported", at: start)
            default:
                let scoped = try inlineFlags(&inner)
                if !scoped {
                    outer = inner  // (?i): for the rest of the enclosing group
                    return nil
                }
            }
        }
        let body = try alternation(&inner)
        guard take(")") else { throw failure("a missing )") }
        return body
    }

    /// `i`, `s`, `m`, `x`, optionally `-` and more, then `)` (returns false) or `:` (returns true).
    private mutating func inlineFlags(_ flags: inout Flags) throws(RegularExpressionError) -> Bool {
        var on = true
        while true {
            let start = position
            switch try next() {
            case "i": flags.caseInsensitive = on
            case "s": flags.dotAll = on
            case "m": flags.multiline = on
            case "x": flags.extended = on
            case "-" where on: on = false
            case ")": return false
            case ":": return true
            case let other: throw failure("an unknown flag '\(other)'", at: start)
            }
        }
    }

    private mutating func escape(_ flags: Flags) throws(RegularExpressionError) -> RegexNode {
        let start = position - 1
        let character = try next()
        switch character {
        case "A": return .assertion(.textStart)
        case "z": return .assertion(.textEnd)
        case "Z": return .assertion(.textEndBeforeTerminator)
        case "b": return .assertion(.wordBoundary(negated: false))
        case "B": return .assertion(.wordBoundary(negated: true))
        case "Q":
            var literal: [RegexNode] = []
            while position < pattern.count {
                if pattern[position] == "\\" && position + 1 < pattern.count && pattern[position + 1] == "E" {
                    position += 2
                    break
                }
                literal.append(.atom(.scalar(pattern[position], caseInsensitive: flags.caseInsensitive)))
                position += 1
            }
            return .concatenation(literal)
        case "1"..."9", "k": throw failure("back references are not supported", at: start)
        case "G": throw failure("\\G is not supported", at: start)
        default:
            position -= 1
            switch try RegexClassParser.escape(pattern, &position, start: start) {
            case .scalar(let scalar): return .atom(.scalar(scalar, caseInsensitive: flags.caseInsensitive))
            case let item: return .atom(.set(RegexSet(items: [item], caseInsensitive: flags.caseInsensitive)))
            }
        }
    }

    /// `node` followed by `*`, `+`, `?` or `{n,m}`, each optionally lazy (`?`), which a search
    /// for whether there is a match does not distinguish.
    private mutating func quantified(_ node: RegexNode, _ flags: Flags) throws(RegularExpressionError) -> RegexNode {
        var node = node
        while let character = peek {
            let start = position
            let bounds: (Int, Int?)
            switch character {
            case "*": bounds = (0, nil)
            case "+": bounds = (1, nil)
            case "?": bounds = (0, 1)
            case "{": bounds = try counted()
            default: return node
            }
            if character != "{" { position += 1 }
            if case .assertion = node { throw failure("an assertion cannot be repeated", at: start) }
            if take("+") { throw failure("possessive quantifiers are not supported", at: position - 1) }
            _ = take("?")
            node = .repetition(node, minimum: bounds.0, maximum: bounds.1)
        }
        return node
    }

    /// `{n}`, `{n,}` or `{n,m}`.
    private mutating func counted() throws(RegularExpressionError) -> (Int, Int?) {
        let start = position
        position += 1
        let minimum = number()
        var maximum = minimum
        if take(",") { maximum = number() }
        guard take("}"), let low = minimum else { throw failure("a malformed {n,m}", at: start) }
        if let maximum, maximum < low { throw failure("{n,m} with m below n", at: start) }
        if max(low, maximum ?? 0) > Self.maximumCount {
            throw failure("a count above \(Self.maximumCount)", at: start)
        }
        return (low, maximum)
    }

    private mutating func number() -> Int? {
        var value: Int?
        while let character = peek, ("0"..."9").contains(character) {
            value = min((value ?? 0) * 10 + Int(character.value - 48), 1_000_000)
            position += 1
        }
        return value
    }
}
