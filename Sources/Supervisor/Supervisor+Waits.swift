import Synchronization

/// Every wait of a run ends within a fraction of a second of SIGINT or SIGTERM.
extension Supervisor {
    /// How often a wait looks whether the run was interrupted.
    static let interruptCheckInterval = Duration.milliseconds(50)

    /// Sleeps for `duration`, or until the run is interrupted.
    static func sleep(for duration: Duration, unless state: RunState) async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: duration)
        while !state.isInterrupted, clock.now < deadline {
            // Cancelled: the wait is over (a cancelled sleep returns at once, and this loop would spin).
            do { try await Task.sleep(for: min(interruptCheckInterval, deadline - clock.now)) } catch { return }
        }
    }

    /// Runs `body` in a task of its own that SIGINT/SIGTERM cancel (for waits that honour cancellation).
    static func interruptible<Result: Sendable>(
        _ state: RunState,
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let task = Task { try await body() }
        state.cancelWait.withLock { $0 = { task.cancel() } }
        defer { state.cancelWait.withLock { $0 = nil } }
        if state.isInterrupted { task.cancel() }
        return try await task.value
    }
}
