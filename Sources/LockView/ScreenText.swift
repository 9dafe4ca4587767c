/// Text from outside (queries, role, database and application names) made safe for a terminal.
///
/// TODO(TerminalText): switch to the shared sanitiser in WardenSupport once it lands; this is
/// a private stand-in so that no escape sequence from the server reaches the screen raw.
enum ScreenText {
    /// `text` on one line: control and format characters (escape sequences, bidirectional
    /// overrides, newlines) become `?`, whitespace runs become one space.
    static func clean(_ text: String) -> String {
        var result = ""
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !lastWasSpace { result.unicodeScalars.append(" ") }
                lastWasSpace = true
                continue
            }
            lastWasSpace = false
            switch scalar.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
                result.unicodeScalars.append("?")
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `text` cut to `width` characters, ending in `ellipsis` when cut.
    static func cut(_ text: String, to width: Int, ellipsis: String) -> String {
        guard width > 0 else { return "" }
        guard text.count > width else { return text }
        return String(text.prefix(max(0, width - ellipsis.count))) + ellipsis
    }

    /// `text` cut or padded with spaces to exactly `width` characters.
    static func fit(_ text: String, _ width: Int, ellipsis: String, right: Bool = false) -> String {
        let cut = cut(text, to: width, ellipsis: ellipsis)
        let padding = String(repeating: " ", count: max(0, width - cut.count))
        return right ? padding + cut : cut + padding
    }
}
