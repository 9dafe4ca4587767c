import Logging
import Processes
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// How `pause` treats workers that are running.
package enum StopMode: String, Sendable, CaseIterable, Codable {
    /// Leave them running.
    case none
    /// SIGTERM now; SIGKILL for those still running after the grace period.
    case term
    /// Let them finish by themselves for the grace period; then as `term`.
    case drain
}

/// How one worker ended.
package enum StopOutcome: Sendable, Equatable, Codable {
    /// It finished by itself (while draining).
    case finished
    /// It exited after SIGTERM.
    case terminated
    /// It was still running after the grace period and was killed with SIGKILL.
    case killed
    /// It had already ended when pgwarden came to signal it.
    case alreadyGone
    /// It could not be signalled (for example, permission denied).
    case notSignalled(reason: String)
    /// Left running (`--stop none`).
    case leftRunning

    /// For people: "exited after SIGTERM", ….
    package var description: String {
        switch self {
        case .finished: "finished by itself"
        case .terminated: "exited after SIGTERM"
        case .killed: "killed with SIGKILL after the grace period"
        case .alreadyGone: "had already ended"
        case .notSignalled(let reason): "could not be signalled: \(reason)"
        case .leftRunning: "left running"
        }
    }
}

/// A worker process and how it ended.
package struct StoppedWorker: Sendable, Equatable {
    package let process: ProcessEntry
    package let outcome: StopOutcome
    /// Seconds from the start of the stop to its end.
    package let seconds: Double
}

/// Stops worker processes: SIGTERM then SIGKILL, or drain first. Checks each process's
/// start time before every signal, so a reused pid is never signalled.
package struct WorkerStopper: Sendable {
    /// How often to look whether processes have ended.
    package var pollInterval: Duration = .milliseconds(50)
    private let clock = ContinuousClock()
    private let logger: Logger
    private let interrupted: @Sendable () -> Bool

    /// Creates a stopper. When `interrupted` becomes true (SIGINT/SIGTERM of an upgrade), every
    /// wait ends at its next look, and the workers not yet stopped are left running.
    package init(logger: Logger, interrupted: @escaping @Sendable () -> Bool = { false }) {
        self.logger = logger
        self.interrupted = interrupted
    }

    /// Stops `workers` as `mode` says, waiting at most `grace` at each stage.
    package func stop(_ workers: [ProcessEntry], mode: StopMode, grace: Duration) async -> [StoppedWorker] {
        guard mode != .none else {
            return workers.map { StoppedWorker(process: $0, outcome: .leftRunning, seconds: 0) }
        }
        let start = clock.now
        var ended: [Int32: (StopOutcome, Duration)] = [:]
        func record(_ processes: [ProcessEntry], _ outcome: StopOutcome) {
            for process in processes where ended[process.pid] == nil {
                ended[process.pid] = (outcome, clock.now - start)
            }
        }
        var running = workers
        if mode == .drain {
            logger.info("draining workers", metadata: ["count": "\(running.count)", "grace": "\(grace)"])
            running = await waitForExit(running, until: clock.now.advanced(by: grace)) { record([$0], .finished) }
        }
        if interrupted() {
            record(running, .leftRunning)
            running = []
        }
        // The one escalation (SIGTERM, the grace, SIGKILL), each process checked by pid and start time.
        let results = await ProcessStopper.stop(
            running.map { .process($0.identity) },
            grace: grace,
            interrupted: interrupted
        )
        for process in running {
            switch results[.process(process.identity)] {
            case .alreadyGone?: record([process], mode == .drain ? .finished : .alreadyGone)
            case .exitedAfterTerm?: record([process], .terminated)
            case .killed?: record([process], .killed)
            case .leftAfterTerm?, nil: record([process], .leftRunning)  // SIGTERM sent; no SIGKILL on an interrupted run
            case .notSignalled(let reason)?: record([process], .notSignalled(reason: reason))
            }
            logger.info("stopped worker", metadata: ["pid": "\(process.pid)"])
        }
        _ = await ProcessStopper.waitUntilGone(
            running.filter { results[.process($0.identity)] == .killed }.map { .process($0.identity) },
            deadline: clock.now.advanced(by: .seconds(5))
        )
        return workers.map { process in
            let (outcome, elapsed) = ended[process.pid] ?? (.alreadyGone, .zero)
            return StoppedWorker(process: process, outcome: outcome, seconds: elapsed.seconds)
        }
    }

    /// Waits until every process has ended or `deadline` passes, calling `ended` for each as
    /// it goes; returns those still running.
    private func waitForExit(
        _ processes: [ProcessEntry],
        until deadline: ContinuousClock.Instant,
        ended: (ProcessEntry) -> Void
    ) async -> [ProcessEntry] {
        var running = processes
        while true {
            var alive: [ProcessEntry] = []
            for process in running {
                if process.identity.isRunning { alive.append(process) } else { ended(process) }
            }
            running = alive
            guard !running.isEmpty, clock.now < deadline, !interrupted() else { return running }
            try? await Task.sleep(for: pollInterval)
        }
    }
}
