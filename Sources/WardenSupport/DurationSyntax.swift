/// Durations as operators write them: `250ms`, `10s`, `5m`, `1h`, or a bare number of seconds.
public enum DurationSyntax {
    /// Parses a duration; fractions are allowed (`1.5s`), negatives are not.
    ///
    /// - Returns: `nil` when the text is not a duration.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmedOfWhitespace
        let units: [(suffix: String, seconds: Double)] = [
            ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600),
        ]
        let (number, scale): (Substring, Double) =
            units.first { trimmed.hasSuffix($0.suffix) }
            .map { (trimmed.dropLast($0.suffix.count), $0.seconds) } ?? (Substring(trimmed), 1)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite
        else { return nil }
        let milliseconds = (value * scale * 1000).rounded()
        guard milliseconds <= Double(Int64.max / 1_000_000) else { return nil }
        return .milliseconds(Int64(milliseconds))
    }

    /// Formats a number of seconds compactly for people: `0.4s`, `12s`, `3m05s`, `2h04m`.
    public static func format(seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 {
            let tenths = (seconds * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : "\(tenths)s"
        }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + twoDigits(whole % 60) + "s" }
        return "\(whole / 3600)h" + twoDigits(whole % 3600 / 60) + "m"
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded.
    public var milliseconds: Int {
        Int((seconds * 1000).rounded())
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    public var trimmedOfWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
