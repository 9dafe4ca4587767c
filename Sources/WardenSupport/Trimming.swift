extension StringProtocol {
    /// The text without the characters at either end for which `isTrimmed` holds: what
    /// `trimmingCharacters(in:)` did, without the whole of Foundation (its `CharacterSet`).
    package func trimmed(_ isTrimmed: (Character) -> Bool = \.isWhitespace) -> String {
        guard let first = firstIndex(where: { !isTrimmed($0) }), let last = lastIndex(where: { !isTrimmed($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
