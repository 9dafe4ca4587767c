/// Makes text that did not come from pgwarden safe to show on a terminal.
///
/// Query text, role, database, table and application names, crontab lines, command lines and
/// libpq's messages are other people's text: an escape sequence in them would clear the screen,
/// set the window title or (OSC 52) write to the operator's clipboard. Every C0 control
/// (U+0000–U+001F), DEL (U+007F) and C1 control (U+0080–U+009F) — and so every ESC, CSI and OSC
/// sequence — is shown visibly instead:
///
///     TerminalText.safe("\u{1B}[2Jhi\u{07}")   // "\\e[2Jhi\\x07"
///     TerminalText.safe("a\u{9B}31m")         // "a\\u{9b}31m"
///
/// Also shown visibly: the Unicode line and paragraph separators and the bidirectional
/// embedding, override and isolate controls, which reorder what the operator reads.
/// JSON output does not go through this: it is escaped exactly instead.
package enum TerminalText {
    /// How line breaks and tabs are treated.
    package enum Layout: Sendable {
        /// One line: `\n`, `\r` and `\t` are shown as `\n`, `\r`, `\t`.
        case singleLine
        /// Several lines: `\n` and `\t` pass; every other control is shown.
        case multiLine
    }

    /// `text` with every control character replaced by a visible escape; the result contains no
    /// byte below 0x20 (bar `\n` and `\t` in ``Layout/multiLine``), no DEL and no C1 control.
    package static func safe(_ text: String, layout: Layout = .singleLine) -> String {
        guard !isSafe(text, layout: layout) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if needsEscape(scalar, layout: layout) {
                result.append(contentsOf: visible(scalar).unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// Bytes (for example a line of a child's output that need not be UTF-8) made safe:
    /// invalid UTF-8 is shown as U+FFFD, control characters as in ``safe(_:layout:)``.
    package static func safe(bytes: some Sequence<UInt8>, layout: Layout = .singleLine) -> String {
        safe(String(decoding: Array(bytes), as: UTF8.self), layout: layout)
    }

    /// Whether `text` would reach a terminal unchanged.
    package static func isSafe(_ text: String, layout: Layout = .singleLine) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            // Printable ASCII needs no look at its scalar: the fast path for the megabytes of a forecast's JSON.
            for byte in bytes where byte < 0x20 || byte >= 0x7F {
                guard byte >= 0x80 || (layout == .multiLine && (byte == 0x0A || byte == 0x09)) else { return false }
                guard byte < 0x80 else {
                    return !String(decoding: bytes, as: UTF8.self).unicodeScalars.contains {
                        needsEscape($0, layout: layout)
                    }
                }
            }
            return true
        }
    }

    /// Whether `scalar` would reach a terminal unchanged on one line.
    package static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        !needsEscape(scalar, layout: .singleLine)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar, layout: Layout) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: layout == .singleLine
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x2028, 0x2029: true
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func visible(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x1B: "\\e"
        case 0x0A: "\\n"
        case 0x0D: "\\r"
        case 0x09: "\\t"
        case 0x00...0x1F, 0x7F: "\\x" + hex(scalar.value, digits: 2)
        default: "\\u{" + hex(scalar.value, digits: 2) + "}"
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
