/// The durations a setting accepts: at least ``minimum`` (or longer than zero), at most
/// ``DurationSyntax/maximum`` (24 days).
package struct DurationRange: Sendable {
    /// The shortest duration accepted; `nil` for "longer than zero".
    package let minimum: Duration?
    /// Whether zero itself is accepted (`blocking_for = "0s"`: as soon as it blocks).
    package let allowsZero: Bool
    /// Why the minimum, for the error message; `nil` when it needs no reason.
    package let reason: String?

    /// A range from `minimum` (inclusive) up to 24 days.
    package init(minimum: Duration? = nil, allowsZero: Bool = false, reason: String? = nil) {
        self.minimum = minimum
        self.allowsZero = allowsZero
        self.reason = reason
    }

    /// Longer than zero: grace periods, timeouts, `escalate_after`, `min_xact_age`.
    package static let positive = DurationRange()
    /// Zero or longer: `blocking_for`, `--retry-delay`.
    package static let zeroOrMore = DurationRange(allowsZero: true)
    /// `lock_timeout`: at least 1 ms, since PostgreSQL reads 0 as "no timeout".
    package static let lockTimeout = DurationRange(
        minimum: .milliseconds(1),
        reason: "PostgreSQL counts lock_timeout in milliseconds and reads 0 as no timeout"
    )
    /// How often to poll the server: at least 10 ms.
    package static let pollInterval = DurationRange(
        minimum: .milliseconds(10),
        reason: "a shorter interval would poll the server without pause"
    )

    /// What is said of a negative duration: what the range accepts instead (`cannot be negative`
    /// where zero is accepted, `must be at least 1ms: …` where there is a minimum).
    var negativeProblem: DurationSyntax.Problem {
        if allowsZero { return DurationSyntax.Problem(message: "cannot be negative") }
        if let minimum { return minimumProblem(minimum) }
        return DurationSyntax.Problem(message: "must be positive")
    }

    private func minimumProblem(_ minimum: Duration) -> DurationSyntax.Problem {
        let because = reason.map { ": \($0)" } ?? ""
        return DurationSyntax.Problem(message: "must be at least \(DurationSyntax.format(minimum))\(because)")
    }

    /// Throws when `duration` lies outside the range.
    func check(_ duration: Duration) throws(DurationSyntax.Problem) {
        if duration == .zero, allowsZero { return }
        if let minimum, duration < minimum { throw minimumProblem(minimum) }
        guard duration > .zero else { throw DurationSyntax.Problem(message: "must be longer than zero") }
        guard duration <= DurationSyntax.maximum else {
            throw DurationSyntax.Problem(message: "must be at most \(DurationSyntax.format(DurationSyntax.maximum))")
        }
    }
}
