/// The parse tree of a regular expression in the syntax pgwarden reads (the ICU-style subset that
/// `BoundedRegularExpression` documents), and what one character position can match.
indirect enum RegexNode: Sendable, Equatable {
    /// Matches the empty string.
    case empty
    /// One character that `RegexAtom` accepts.
    case atom(RegexAtom)
    /// A zero-width test of the position.
    case assertion(RegexAssertion)
    /// Each node in turn.
    case concatenation([RegexNode])
    /// Any one of the nodes.
    case alternation([RegexNode])
    /// `node` between `minimum` and `maximum` times (`nil`: no upper bound).
    case repetition(RegexNode, minimum: Int, maximum: Int?)
}

/// A zero-width test: anchors and word boundaries.
enum RegexAssertion: Sendable, Equatable {
    /// `^`: the start of the text, or (multiline) of a line.
    case lineStart(multiline: Bool)
    /// `$`: the end of the text or before a final line terminator, or (multiline) before any.
    case lineEnd(multiline: Bool)
    /// `\A`.
    case textStart
    /// `\z`.
    case textEnd
    /// `\Z`: the end of the text or before a final line terminator.
    case textEndBeforeTerminator
    /// `\b`, or `\B` when negated.
    case wordBoundary(negated: Bool)

    /// Whether the position between `previous` and `next` (`nil`: the edge of the text) passes.
    func holds(previous: Unicode.Scalar?, next: Unicode.Scalar?, nextIsLast: Bool) -> Bool {
        switch self {
        case .lineStart(let multiline):
            return previous == nil || (multiline && previous.map(RegexCharacters.isLineTerminator) == true)
        case .lineEnd(let multiline):
            guard let next else { return true }
            return RegexCharacters.isLineTerminator(next) && (multiline || nextIsLast)
        case .textStart:
            return previous == nil
        case .textEnd:
            return next == nil
        case .textEndBeforeTerminator:
            guard let next else { return true }
            return nextIsLast && RegexCharacters.isLineTerminator(next)
        case .wordBoundary(let negated):
            let before = previous.map(RegexCharacters.isWord) ?? false
            let after = next.map(RegexCharacters.isWord) ?? false
            return (before != after) != negated
        }
    }
}

/// What one character position can match.
enum RegexAtom: Sendable, Equatable {
    /// `.`: any character but a line terminator, or any at all with the `s` flag.
    case any(dotAll: Bool)
    /// One character, compared with simple case folding when `caseInsensitive`.
    case scalar(Unicode.Scalar, caseInsensitive: Bool)
    /// A bracket expression or a class escape such as `\d`.
    case set(RegexSet)

    func matches(_ character: Unicode.Scalar) -> Bool {
        switch self {
        case .any(let dotAll):
            return dotAll || !RegexCharacters.isLineTerminator(character)
        case .scalar(let expected, let caseInsensitive):
            guard caseInsensitive else { return character == expected }
            return RegexCharacters.folded(character) == RegexCharacters.folded(expected)
        case .set(let set):
            return set.matches(character)
        }
    }
}

/// A set of characters: `[a-z_]`, `[^\s]`, `\w`.
struct RegexSet: Sendable, Equatable {
    /// One member of a set.
    enum Item: Sendable, Equatable {
        case scalar(Unicode.Scalar)
        case range(Unicode.Scalar, Unicode.Scalar)
        case named(RegexNamedClass, negated: Bool)
    }

    var items: [Item]
    var negated = false
    var caseInsensitive = false

    func matches(_ character: Unicode.Scalar) -> Bool {
        var found = contains(character)
        if !found && caseInsensitive {
            found = [RegexCharacters.lowercase(character), RegexCharacters.uppercase(character)]
                .contains { $0 != character && contains($0) }
        }
        return found != negated
    }

    private func contains(_ character: Unicode.Scalar) -> Bool {
        items.contains { item in
            switch item {
            case .scalar(let scalar): return scalar == character
            case .range(let low, let high): return low <= character && character <= high
            case .named(let named, let negated): return named.contains(character) != negated
            }
        }
    }
}

/// The named classes: `\d`, `\w`, `\s`, `\h`, POSIX `[:alpha:]` and `\p{…}` general categories.
enum RegexNamedClass: Sendable, Equatable {
    case digit, word, space, horizontalSpace
    case alphabetic, alphanumeric, lowercase, uppercase, punctuation, control, hexDigit, printable, graphic, blank
    /// `\p{L}`, `\p{Lu}`, …: the general categories whose abbreviation starts with the prefix.
    case category(String)

    func contains(_ character: Unicode.Scalar) -> Bool {
        let properties = character.properties
        switch self {
        case .digit: return properties.generalCategory == .decimalNumber
        case .word: return RegexCharacters.isWord(character)
        case .space: return properties.isWhitespace
        case .horizontalSpace, .blank:
            return character == "\t" || (properties.generalCategory == .spaceSeparator)
        case .alphabetic: return properties.isAlphabetic
        case .alphanumeric: return properties.isAlphabetic || properties.generalCategory == .decimalNumber
        case .lowercase: return properties.isLowercase
        case .uppercase: return properties.isUppercase
        case .punctuation: return RegexCharacters.abbreviation(properties.generalCategory).hasPrefix("P")
        case .control: return properties.generalCategory == .control
        case .hexDigit: return character.isASCII && character.properties.isASCIIHexDigit
        case .printable, .graphic:
            let category = RegexCharacters.abbreviation(properties.generalCategory)
            let invisible = category.hasPrefix("C") || (category.hasPrefix("Z") && self == .graphic)
            return !invisible || (self == .printable && category == "Zs")
        case .category(let prefix): return RegexCharacters.abbreviation(properties.generalCategory).hasPrefix(prefix)
        }
    }
}

/// Character facts as ICU's regular expressions define them, from the standard library's own
/// Unicode data (no ICU).
enum RegexCharacters {
    /// `\n`, `\u{B}`, `\u{C}`, `\r`, NEL, LS and PS.
    static func isLineTerminator(_ character: Unicode.Scalar) -> Bool {
        switch character.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// `\w`: letters, marks, decimal digits, connector punctuation, ZWNJ and ZWJ.
    static func isWord(_ character: Unicode.Scalar) -> Bool {
        let properties = character.properties
        switch properties.generalCategory {
        case .decimalNumber, .connectorPunctuation, .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return properties.isAlphabetic || character.value == 0x200C || character.value == 0x200D
        }
    }

    /// The simple lowercase mapping (one character to one), or the character itself.
    static func lowercase(_ character: Unicode.Scalar) -> Unicode.Scalar {
        if character.isASCII {
            return ("A"..."Z").contains(character) ? Unicode.Scalar(character.value + 32)! : character
        }
        return single(character.properties.lowercaseMapping) ?? character
    }

    /// The simple uppercase mapping (one character to one), or the character itself.
    static func uppercase(_ character: Unicode.Scalar) -> Unicode.Scalar {
        if character.isASCII {
            return ("a"..."z").contains(character) ? Unicode.Scalar(character.value - 32)! : character
        }
        return single(character.properties.uppercaseMapping) ?? character
    }

    /// What two characters equal under case-insensitive matching share.
    static func folded(_ character: Unicode.Scalar) -> Unicode.Scalar {
        lowercase(uppercase(character))
    }

    private static func single(_ mapping: String) -> Unicode.Scalar? {
        var scalars = mapping.unicodeScalars.makeIterator()
        guard let first = scalars.next(), scalars.next() == nil else { return nil }
        return first
    }

    /// The two-letter abbreviation of a general category (`Lu`, `Nd`, `Zs`, …).
    static func abbreviation(_ category: Unicode.GeneralCategory) -> String {
        switch category {
        case .uppercaseLetter: "Lu"
        case .lowercaseLetter: "Ll"
        case .titlecaseLetter: "Lt"
        case .modifierLetter: "Lm"
        case .otherLetter: "Lo"
        case .nonspacingMark: "Mn"
        case .spacingMark: "Mc"
        case .enclosingMark: "Me"
        case .decimalNumber: "Nd"
        case .letterNumber: "Nl"
        case .otherNumber: "No"
        case .connectorPunctuation: "Pc"
        case .dashPunctuation: "Pd"
        case .openPunctuation: "Ps"
        case .closePunctuation: "Pe"
        case .initialPunctuation: "Pi"
        case .finalPunctuation: "Pf"
        case .otherPunctuation: "Po"
        case .mathSymbol: "Sm"
        case .currencySymbol: "Sc"
        case .modifierSymbol: "Sk"
        case .otherSymbol: "So"
        case .spaceSeparator: "Zs"
        case .lineSeparator: "Zl"
        case .paragraphSeparator: "Zp"
        case .control: "Cc"
        case .format: "Cf"
        case .surrogate: "Cs"
        case .privateUse: "Co"
        case .unassigned: "Cn"
        @unknown default: "Cn"
        }
    }
}
