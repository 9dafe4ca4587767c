/// Turns the bytes a terminal sends into keys, escape sequences included (`ESC [ A` is ↑).
///
/// A sequence split across reads is completed by the next one; an ESC that ends a read with
/// nothing after it is the Escape key (terminals send a whole sequence in one write).
package struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    /// Creates a decoder.
    package init() {}

    /// The keys in `bytes`, after any left over from the previous call.
    package mutating func decode(_ bytes: [UInt8]) -> [Key] {
        var input = pending + bytes
        pending = []
        var keys: [Key] = []
        while !input.isEmpty {
            switch Self.next(input) {
            case .key(let key, let length):
                keys.append(key)
                input.removeFirst(length)
            case .incomplete:
                if input == [0x1B] {
                    keys.append(.escape)
                    input = []
                } else {
                    pending = input
                    input = []
                }
            }
        }
        return keys
    }

    private enum Step {
        case key(Key, length: Int)
        case incomplete
    }

    /// Whether `bytes` begin a key that more bytes would complete (an escape sequence or a character cut short).
    static func isIncomplete(_ bytes: [UInt8]) -> Bool {
        if case .incomplete = next(bytes) { return true }
        return false
    }

    private static func next(_ input: [UInt8]) -> Step {
        let first = input[0]
        switch first {
        case 0x1B: return escape(input)
        case 0x0D, 0x0A: return .key(.enter, length: 1)
        case 0x7F, 0x08: return .key(.backspace, length: 1)
        case 0x00..<0x20: return .key(first == 0x0C ? .character("\u{0C}") : .unknown, length: 1)
        case 0x20..<0x80: return .key(.character(Character(Unicode.Scalar(first))), length: 1)
        default: return utf8(input)
        }
    }

    /// `ESC [ A`, `ESC O A`, `ESC [ 5 ~`, …; `ESC` followed by anything else is Escape then that.
    private static func escape(_ input: [UInt8]) -> Step {
        guard input.count >= 2 else { return .incomplete }
        guard input[1] == UInt8(ascii: "[") || input[1] == UInt8(ascii: "O") else { return .key(.escape, length: 1) }
        // The parameters, then one final byte in 0x40...0x7E.
        var index = 2
        while index < input.count, (0x20...0x3F).contains(input[index]) { index += 1 }
        guard index < input.count else { return input.count > 16 ? .key(.unknown, length: input.count) : .incomplete }
        let final = input[index]
        let parameters = String(decoding: input[2..<index], as: UTF8.self)
        let length = index + 1
        switch (final, parameters) {
        case (UInt8(ascii: "A"), _): return .key(.up, length: length)
        case (UInt8(ascii: "B"), _): return .key(.down, length: length)
        case (UInt8(ascii: "H"), _): return .key(.home, length: length)
        case (UInt8(ascii: "F"), _): return .key(.end, length: length)
        case (UInt8(ascii: "~"), "5"): return .key(.pageUp, length: length)
        case (UInt8(ascii: "~"), "6"): return .key(.pageDown, length: length)
        case (UInt8(ascii: "~"), "1"), (UInt8(ascii: "~"), "7"): return .key(.home, length: length)
        case (UInt8(ascii: "~"), "4"), (UInt8(ascii: "~"), "8"): return .key(.end, length: length)
        default: return .key(.unknown, length: length)
        }
    }

    /// One UTF-8 encoded character (a filter may contain `é`).
    private static func utf8(_ input: [UInt8]) -> Step {
        let first = input[0]
        let length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
        guard length > 1 else { return .key(.unknown, length: 1) }
        guard input.count >= length else { return .incomplete }
        let text = String(decoding: input[0..<length], as: UTF8.self)
        guard let character = text.first, text.count == 1, !text.contains("\u{FFFD}") else {
            return .key(.unknown, length: length)
        }
        return .key(.character(character), length: length)
    }
}
