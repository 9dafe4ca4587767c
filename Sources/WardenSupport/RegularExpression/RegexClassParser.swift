/// Reads bracket expressions (`[a-z_]`, `[^[:space:]]`) and escapes (`\d`, `\x41`, `\p{Lu}`).
enum RegexClassParser {
    /// The set after its `[`, up to and including its `]`.
    static func parse(
        _ pattern: [Unicode.Scalar],
        _ position: inout Int,
        _ flags: RegexParser.Flags
    ) throws(RegularExpressionError) -> RegexSet {
        let start = position - 1
        var set = RegexSet(items: [], caseInsensitive: flags.caseInsensitive)
        if position < pattern.count && pattern[position] == "^" {
            set.negated = true
            position += 1
        }
        var first = true
        while true {
            guard position < pattern.count else {
                throw RegularExpressionError(reason: "an unterminated [", offset: start)
            }
            let character = pattern[position]
            if character == "]" && !first {
                position += 1
                return set
            }
            first = false
            let item = try member(pattern, &position)
            // A range: `a-z`, but not `a-` before `]` (a literal dash).
            if case .scalar(let low) = item, position + 1 < pattern.count, pattern[position] == "-",
                pattern[position + 1] != "]"
            {
                position += 1
                let rangeStart = position
                guard case .scalar(let high) = try member(pattern, &position), low <= high else {
                    throw RegularExpressionError(reason: "an invalid range in [ ]", offset: rangeStart)
                }
                set.items.append(.range(low, high))
            } else {
                set.items.append(item)
            }
        }
    }

    private static func member(
        _ pattern: [Unicode.Scalar],
        _ position: inout Int
    ) throws(RegularExpressionError) -> RegexSet.Item {
        let start = position
        let character = pattern[position]
        position += 1
        switch character {
        case "\\":
            return try escape(pattern, &position, start: start)
        case "[":
            guard position < pattern.count, pattern[position] == ":" else {
                throw RegularExpressionError(reason: "nested sets are not supported", offset: start)
            }
            return try posixClass(pattern, &position, start: start)
        case "&" where position < pattern.count && pattern[position] == "&":
            throw RegularExpressionError(reason: "set operations (&&) are not supported", offset: start)
        default:
            return .scalar(character)
        }
    }

    /// `[:alpha:]` and the other POSIX names, after the `[`; `[:^alpha:]` negated.
    private static func posixClass(
        _ pattern: [Unicode.Scalar],
        _ position: inout Int,
        start: Int
    ) throws(RegularExpressionError) -> RegexSet.Item {
        position += 1
        let negated = position < pattern.count && pattern[position] == "^"
        if negated { position += 1 }
        var name = ""
        while position < pattern.count, pattern[position] != ":" {
            name.unicodeScalars.append(pattern[position])
            position += 1
        }
        guard position + 1 < pattern.count, pattern[position + 1] == "]" else {
            throw RegularExpressionError(reason: "an unterminated [:name:]", offset: start)
        }
        position += 2
        let classes: [String: RegexNamedClass] = [
            "alpha": .alphabetic, "digit": .digit, "alnum": .alphanumeric, "upper": .uppercase,
            "lower": .lowercase, "space": .space, "punct": .punctuation, "cntrl": .control,
            "xdigit": .hexDigit, "print": .printable, "graph": .graphic, "blank": .blank, "word": .word,
        ]
        guard let named = classes[name] else {
            throw RegularExpressionError(reason: "an unknown class [:\(name):]", offset: start)
        }
        return .named(named, negated: negated)
    }

    /// The escape after its backslash; `start` is the backslash's offset.
    static func escape(
        _ pattern: [Unicode.Scalar],
        _ position: inout Int,
        start: Int
    ) throws(RegularExpressionError) -> RegexSet.Item {
        guard position < pattern.count else {
            throw RegularExpressionError(reason: "a \\ at the end of the expression", offset: start)
        }
        let character = pattern[position]
        position += 1
        switch character {
        case "d", "D": return .named(.digit, negated: character == "D")
        case "w", "W": return .named(.word, negated: character == "W")
        case "s", "S": return .named(.space, negated: character == "S")
        case "h", "H": return .named(.horizontalSpace, negated: character == "H")
        case "p", "P": return try property(pattern, &position, negated: character == "P", start: start)
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "a": return .scalar("\u{07}")
        case "e": return .scalar("\u{1B}")
        case "x", "u", "U", "0": return .scalar(try codePoint(pattern, &position, character, start: start))
        case let other where other.properties.isAlphabetic || ("0"..."9").contains(other):
            throw RegularExpressionError(reason: "an unknown escape \\\(other)", offset: start)
        default: return .scalar(character)
        }
    }

    /// `\xhh`, `\x{h…}`, `\uhhhh`, `\Uhhhhhhhh`, `\0ooo`.
    private static func codePoint(
        _ pattern: [Unicode.Scalar],
        _ position: inout Int,
        _ kind: Unicode.Scalar,
        start: Int
    ) throws(RegularExpressionError) -> Unicode.Scalar {
        var digits = ""
        let radix = kind == "0" ? 8 : 16
        if kind == "x" && position < pattern.count && pattern[position] == "{" {
            position += 1
            while position < pattern.count, pattern[position] != "}" {
                digits.unicodeScalars.append(pattern[position])
                position += 1
            }
            position += 1
        } else {
            let length = ["x": 2, "u": 4, "U": 8, "0": 3][kind] ?? 2
            while digits.count < length, position < pattern.count,
                Int(String(pattern[position]), radix: radix) != nil
            {
                digits.unicodeScalars.append(pattern[position])
                position += 1
            }
        }
        if kind == "0" && digits.isEmpty { return "\u{0}" }
        guard !digits.isEmpty, let value = UInt32(digits, radix: radix), let scalar = Unicode.Scalar(value) else {
            throw RegularExpressionError(reason: "an invalid character code", offset: start)
        }
        return scalar
    }

    /// `\p{L}`, `\p{Lu}`, `\pL`: a general category; `\p{Alphabetic}`, `\p{White_Space}` and POSIX names.
    private static func property(
        _ pattern: [Unicode.Scalar],
        _ position: inout Int,
        negated: Bool,
        start: Int
    ) throws(RegularExpressionError) -> RegexSet.Item {
        var name = ""
        if position < pattern.count && pattern[position] == "{" {
            position += 1
            while position < pattern.count, pattern[position] != "}" {
                name.unicodeScalars.append(pattern[position])
                position += 1
            }
            guard position < pattern.count else {
                throw RegularExpressionError(reason: "an unterminated \\p{", offset: start)
            }
            position += 1
        } else if position < pattern.count {
            name.unicodeScalars.append(pattern[position])
            position += 1
        }
        let named: [String: RegexNamedClass] = [
            "Alphabetic": .alphabetic, "White_Space": .space, "Lowercase": .lowercase, "Uppercase": .uppercase,
            "Alpha": .alphabetic, "Digit": .digit, "Punct": .punctuation, "Space": .space,
        ]
        if let named = named[name] { return .named(named, negated: negated) }
        let categories = ["L", "M", "N", "P", "S", "Z", "C"]
        guard (1...2).contains(name.count), categories.contains(String(name.prefix(1))),
            name.count == 1 || name.last?.isLowercase == true
        else {
            throw RegularExpressionError(reason: "an unsupported property \\p{\(name)}", offset: start)
        }
        return .named(.category(name), negated: negated)
    }
}
