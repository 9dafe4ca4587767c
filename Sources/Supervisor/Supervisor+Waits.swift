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

extension Supervisor {
    /// How long the run's sessions and processes may take to end by themselves after the command exits.
    static let leftoverGrace = Duration.seconds(2)

    /// After the command: the run's processes and sessions that outlived it are given a grace, then
    /// stopped and terminated, and checked gone. Returns whether any outlived it (then the attempt
    /// did not succeed, whatever the command's status: a daemonised child held its session).
    func settleLeftovers(_ applicationName: String, state: RunState, _ report: inout RunReport) async -> Bool {
        let outcome = await RunLeftovers(
            applicationName: applicationName,
            connectionString: settings.connectionString,
            logger: logger
        ).settle(grace: Self.leftoverGrace, interrupted: { state.isInterrupted })
        var warnings = outcome.stoppedProcesses.map { "a process of the migration outlived its command: stopped \($0)" }
        warnings += outcome.terminatedSessions.map {
            "a session of the migration outlived its command: terminated \($0)"
        }
        if !outcome.remaining.isEmpty {
            warnings.append("sessions of the run are still there: pids \(outcome.remaining)")
        }
        outcome.checkFailed.map { warnings.append($0) }
        warnings.forEach(log.warn)
        report.warnings += warnings
        return !outcome.clean
    }
}
