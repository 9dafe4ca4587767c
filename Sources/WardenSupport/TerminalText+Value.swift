extension TerminalText {
    /// The longest value an error line quotes whole, in characters.
    package static let valueLimit = 200
    /// The longest message a line of `error:`, `warning:` or `hint:` shows, in characters.
    package static let lineLimit = 2_000

    /// A value from outside (a config file's string, key, pattern or host; a path; a command) as a message quotes
    /// it: made safe (``safe(_:layout:)``) and, when longer than `limit` characters, cut there with its size after:
    /// `aaaa… (2000000 bytes)`. A 2 MB value must not make a 2 MB error line.
    package static func value(_ text: some StringProtocol, limit: Int = valueLimit) -> String {
        let text = String(text)
        guard text.count > limit else { return safe(text) }
        return safe(String(text.prefix(limit))) + "… (\(text.utf8.count) bytes)"
    }

    /// A whole message line, cut at `limit` characters with its size after: the last guard, for a value quoted
    /// where no ``value(_:limit:)`` cut it.
    package static func line(_ text: String, limit: Int = lineLimit) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "… (\(text.utf8.count) bytes in all)"
    }
}
