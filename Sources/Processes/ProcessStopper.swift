#if canImport(Glibc)
    import Glibc
#endif

/// What to stop: one process, or the process group it leads. Either way the identity (pid and start
/// time) is checked before the first signal, so a reused pid is never signalled.
package enum StopTarget: Sendable, Hashable {
    case process(ProcessIdentity)
    case group(ProcessIdentity)

    /// The process (or the leader of the group).
    package var identity: ProcessIdentity {
        switch self {
        case .process(let identity), .group(let identity): identity
        }
    }

    /// Whether anything of it still runs: the process itself, or any member of the group.
    package var isRunning: Bool {
        switch self {
        case .process(let identity): identity.isRunning
        case .group(let identity): identity.groupIsRunning
        }
    }

    fileprivate func send(_ signal: Int32) -> Int32? {
        let result: Int32 =
            switch self {
            case .process(let identity): kill(identity.pid, signal)
            case .group(let identity): kill(-identity.pid, signal)
            }
        return result == 0 ? nil : errno
    }
}

/// How a stop ended, for one target.
package enum StopResult: Sendable, Equatable {
    /// It had ended before the first signal (or was never this process).
    case alreadyGone
    /// It ended after SIGTERM, within the grace.
    case exitedAfterTerm
    /// It was still there after the grace: SIGKILL.
    case killed
    /// SIGTERM was sent, and the stop was interrupted before the grace ran out: no SIGKILL.
    case leftAfterTerm
    /// It could not be signalled (`strerror` of the reason).
    case notSignalled(String)
}

/// The one escalation of pgwarden: SIGTERM, a grace, then SIGKILL to what is left — for the
/// migration's process group, the processes left of a run, workers, and `recover`.
package enum ProcessStopper {
    /// How often a stop looks whether its targets have ended.
    package static let pollInterval = Duration.milliseconds(50)

    /// Stops `targets` together: SIGTERM now, SIGKILL after `grace` to those still running. When
    /// `interrupted` turns true the grace ends and nothing more is sent.
    package static func stop(
        _ targets: [StopTarget],
        grace: Duration,
        interrupted: @Sendable () -> Bool = { false }
    ) async -> [StopTarget: StopResult] {
        var results: [StopTarget: StopResult] = [:]
        var signalled: [StopTarget] = []
        for target in targets {
            guard target.identity.isRunning || (target.isGroup && target.isRunning) else {
                results[target] = .alreadyGone
                continue
            }
            if let error = target.send(SIGTERM) {
                results[target] = error == ESRCH ? .alreadyGone : .notSignalled(String(cString: strerror(error)))
            } else {
                signalled.append(target)
            }
        }
        let survivors = await waitUntilGone(signalled, deadline: ContinuousClock.now.advanced(by: grace), interrupted)
        for target in signalled where !survivors.contains(target) { results[target] = .exitedAfterTerm }
        for target in survivors {
            if interrupted() {
                results[target] = .leftAfterTerm
            } else {
                results[target] = target.send(SIGKILL) == nil ? .killed : .exitedAfterTerm
            }
        }
        return results
    }

    /// Waits until every target has ended, `deadline` passes or `interrupted`; returns those still running.
    package static func waitUntilGone(
        _ targets: [StopTarget],
        deadline: ContinuousClock.Instant,
        _ interrupted: @Sendable () -> Bool = { false }
    ) async -> [StopTarget] {
        var running = targets
        while true {
            running = running.filter(\.isRunning)
            guard !running.isEmpty, ContinuousClock.now < deadline, !interrupted() else { return running }
            do { try await Task.sleep(for: pollInterval) } catch { return running }
        }
    }
}

extension StopTarget {
    fileprivate var isGroup: Bool {
        if case .group = self { return true }
        return false
    }
}
