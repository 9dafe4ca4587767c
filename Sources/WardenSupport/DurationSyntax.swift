/// Durations as operators write them: a number and a unit, `500us`, `250ms`, `10s`, `5min` (or `5m`),
/// `1h`, `2d` (PostgreSQL's units). A bare number is an error, never a guess: PostgreSQL reads a bare
/// `lock_timeout = 500` as milliseconds, and an operator must not have to remember whose default is which.
package enum DurationSyntax {
    /// The longest duration pgwarden accepts anywhere: 24 days, PostgreSQL's own limit for `lock_timeout`
    /// and `statement_timeout` (2147483647 ms).
    package static let maximum: Duration = .seconds(24 * 86_400)

    /// The units, longest suffix first, with their length in nanoseconds.
    static let units: [(suffix: String, nanoseconds: Double)] = [
        ("min", 60e9), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3_600e9), ("d", 86_400e9),
    ]

    /// What is wrong with a duration, for one `error:` line.
    package struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// For example `has no unit: write 500ms or 500s`.
        package let message: String

        /// Creates a problem.
        package init(message: String) {
            self.message = message
        }

        package var description: String { message }
    }

    /// Parses `text` and checks it lies in `range`.
    ///
    ///     try DurationSyntax.parse("250ms", in: .positive)   // .milliseconds(250)
    ///     try DurationSyntax.parse("500", in: .positive)     // Problem: has no unit: write 500ms or 500s
    package static func parse(_ text: String, in range: DurationRange) throws(Problem) -> Duration {
        let trimmed = text.trimmedOfWhitespace
        guard !trimmed.isEmpty else { throw Problem(message: "is empty: write a duration such as 500ms or 10s") }
        // The sign is judged once the rest reads as a number and a unit: "-abc" is no duration at all.
        let negative = trimmed.hasPrefix("-")
        let unsigned = negative ? trimmed.dropFirst() : Substring(trimmed)
        let number = unsigned.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = unsigned.dropFirst(number.count).drop(while: { $0 == " " })
        guard isDecimal(number), unit.allSatisfy(\.isLetter) else {
            throw Problem(message: "is not a duration (write 500ms, 10s, 5min or 1h)")
        }
        if negative { throw range.negativeProblem }
        guard !unit.isEmpty else { throw Problem(message: "has no unit: write \(number)ms or \(number)s") }
        guard let scale = units.first(where: { $0.suffix == unit })?.nanoseconds else {
            throw Problem(message: "unknown unit '\(TerminalText.value(unit))' (us, ms, s, min or m, h, d)")
        }
        // Bounded in floating point first: 1e300 of anything is an error, never a trap.
        let nanoseconds = (Double(number) ?? .infinity) * scale
        guard nanoseconds <= maximum.nanosecondsApproximately else {
            throw Problem(message: "must be at most \(format(maximum))")
        }
        let duration = Duration.nanoseconds(Int64(nanoseconds.rounded()))
        try range.check(duration)
        return duration
    }

    /// Parses a positive duration; `nil` when `text` is not one.
    package static func parse(_ text: String) -> Duration? {
        try? parse(text, in: .positive)
    }

    /// `duration` as an operator would write it: `500us`, `250ms`, `30s`, `5min`, `2h`, `24d`, or
    /// in the largest unit that divides it (`1500ms`).
    package static func format(_ duration: Duration) -> String {
        let nanoseconds = duration.nanosecondsApproximately
        let written: [(String, Double)] = [
            ("d", 86_400e9), ("h", 3_600e9), ("min", 60e9), ("s", 1e9), ("ms", 1e6), ("us", 1e3),
        ]
        for (suffix, scale) in written
        where nanoseconds >= scale && (nanoseconds / scale).rounded() == nanoseconds / scale {
            return "\(Int64(nanoseconds / scale))\(suffix)"
        }
        return "\(Int64(nanoseconds))ns"
    }

    private static func isDecimal(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return !text.isEmpty && parts.count <= 2 && parts.contains { !$0.isEmpty }
    }

    /// Formats a number of seconds compactly for people: `0.4s`, `12s`, `3m05s`, `2h04m`.
    package static func format(seconds: Double) -> String {
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
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded (clamped to `Int`'s range, never a trap).
    package var milliseconds: Int {
        let value = (seconds * 1000).rounded()
        guard value.isFinite else { return value > 0 ? .max : .min }
        return value >= Double(Int.max) ? .max : value <= Double(Int.min) ? .min : Int(value)
    }

    /// The duration in nanoseconds, as a floating-point number (for comparisons without overflow).
    var nanosecondsApproximately: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    package var trimmedOfWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
