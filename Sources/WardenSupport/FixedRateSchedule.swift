/// Fixed-rate polling: the next deadline is one interval after the last, never in the past.
/// A poll that overran its interval is followed at once by the next; missed ticks are not
/// caught up (as with swift-async-algorithms' `AsyncTimerSequence`).
package struct FixedRateSchedule<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The deadline of the coming tick.
    package private(set) var deadline: Instant

    /// Starts with a tick at `start`.
    package init(start: Instant) {
        deadline = start
    }

    /// Moves to the tick after the current one, `interval` later, or `now` if that has passed.
    package mutating func advance(by interval: Duration, now: Instant) {
        deadline = max(deadline.advanced(by: interval), now)
    }
}

/// How long to wait before trying again after a failure: from `initial`, doubling to `maximum`, back to
/// `initial` after a success. The one backoff of the pollers that reconnect (guard, upgrade, the lock view).
package struct Backoff: Sendable, Equatable {
    /// The first wait.
    package let initial: Duration
    /// The longest wait.
    package let maximum: Duration
    /// The wait that the next failure takes.
    package private(set) var current: Duration

    /// Starts at `initial`, doubling up to `maximum`.
    package init(initial: Duration = .milliseconds(500), maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
        current = initial
    }

    /// The wait for this failure; the next one waits twice as long, up to the maximum.
    package mutating func next() -> Duration {
        defer { current = min(current * 2, maximum) }
        return current
    }

    /// After a success: the next failure waits `initial` again.
    package mutating func reset() {
        current = initial
    }
}
