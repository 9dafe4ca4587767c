import WardenSupport

/// Text from outside (queries, role, database and application names) made safe for the screen.
enum ScreenText {
    /// `text` on one line: whitespace runs become one space, then every control character is
    /// shown visibly by the one sanitiser all of pgwarden's terminal output goes through.
    static func clean(_ text: String) -> String {
        let collapsed = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
            .joined(separator: " ")
        return TerminalText.safe(collapsed, layout: .singleLine)
    }

    /// `text` cut to `width` terminal columns, ending in `ellipsis` when cut, never inside a number.
    /// Columns, not characters: a Chinese name takes two columns a character.
    static func cut(_ text: String, to width: Int, ellipsis: String) -> String {
        guard width > 0 else { return "" }
        return DisplayWidth.cut(text, columns: width, ellipsis: ellipsis)
    }

    /// `text` cut or padded with spaces to exactly `width` terminal columns.
    static func fit(_ text: String, _ width: Int, ellipsis: String, right: Bool = false) -> String {
        let cut = cut(text, to: width, ellipsis: ellipsis)
        let padding = String(repeating: " ", count: max(0, width - DisplayWidth.columns(of: cut)))
        return right ? padding + cut : cut + padding
    }
}
