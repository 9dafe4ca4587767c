/// Fixed-rate polling: the next deadline is one interval after the last, never in the past.
/// A poll that overran its interval is followed at once by the next; missed ticks are not
/// caught up (as with swift-async-algorithms' `AsyncTimerSequence`).
public struct FixedRateSchedule<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The deadline of the coming tick.
    public private(set) var deadline: Instant

    /// Starts with a tick at `start`.
    public init(start: Instant) {
        deadline = start
    }

    /// Moves to the tick after the current one, `interval` later, or `now` if that has passed.
    public mutating func advance(by interval: Duration, now: Instant) {
        deadline = max(deadline.advanced(by: interval), now)
    }
}
