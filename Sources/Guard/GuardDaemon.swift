import Enforcement
import FoundationEssentials
import LockInspection
import Logging
import Policy
import Postgres
import Response
import Synchronization
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `pgwarden guard`: polls, applies the policy to sessions that block others, and audits
/// every decision; survives the server restarting; re-reads the policy on SIGHUP and stops
/// cleanly on SIGINT or SIGTERM.
package struct GuardDaemon: Sendable {
    /// How the daemon runs.
    package struct Options: Sendable {
        /// The server to guard; `nil` uses libpq's environment.
        package var connectionString: String?
        /// The policy file, re-read on SIGHUP.
        package var policyPath: String
        /// One pass, then exit.
        package var once: Bool
        /// Signal nothing, whatever the policy says.
        package var forceDryRun: Bool
        /// Where to count: polls, waits, actions, reconnects.
        package var metrics: GuardMetrics?
        /// Watch every database of the cluster, not only the connection's.
        package var allDatabases: Bool

        /// Creates options.
        package init(
            connectionString: String?,
            policyPath: String,
            once: Bool = false,
            forceDryRun: Bool = false,
            metrics: GuardMetrics? = nil,
            allDatabases: Bool = false
        ) {
            self.allDatabases = allDatabases
            self.connectionString = connectionString
            self.policyPath = policyPath
            self.once = once
            self.forceDryRun = forceDryRun
            self.metrics = metrics
        }
    }

    private let options: Options
    private let initialPolicy: Policy
    private let audit: AuditLog
    private let logger: Logger

    /// Creates a daemon; `policy` was read from `options.policyPath` (a bad one must stop the start).
    package init(options: Options, policy: Policy, audit: AuditLog, logger: Logger) {
        self.options = options
        initialPolicy = policy
        self.audit = audit
        self.logger = logger
    }

    /// What one poll saw and decided.
    package struct Pass: Sendable, Equatable {
        /// Sessions waiting on a heavyweight lock.
        package var waits = 0
        /// Sessions that block another.
        package var blockers = 0
        /// Decisions audited (acted, dry run, protected, rate-limited, logged, failed).
        package var decisions = 0

        /// What `guard --once` says of it when nothing was audited; `nil` when the audit speaks.
        package var summary: String? {
            guard decisions == 0 else { return nil }
            if blockers == 0 { return "nothing blocks: no session waits on a lock, nothing to decide" }
            return
                "\(Plural.count(blockers, "session blocks", "sessions block")) others; no rule matched, nothing to decide"
        }

        /// Creates a pass.
        package init(waits: Int = 0, blockers: Int = 0, decisions: Int = 0) {
            self.waits = waits
            self.blockers = blockers
            self.decisions = decisions
        }
    }

    /// Runs until SIGINT or SIGTERM (or one pass with `once`); returns what the last poll saw and decided.
    ///
    /// - Throws: with `once`, when the server cannot be reached; otherwise only when cancelled abnormally.
    @discardableResult
    package func run() async throws -> Pass {
        let reload = ReloadRequest()
        let delegate = GuardLoopDelegate(options: options, reload: reload, audit: audit, logger: logger)
        let loop = ResponseLoop(
            connectionString: options.connectionString,
            scope: options.allDatabases ? .allDatabases : .currentDatabase,
            audit: [audit],
            once: options.once,
            logger: logger
        )
        let responder = BlockerResponder(policy: initialPolicy)
        options.metrics?.declare(initialPolicy, forceDryRun: options.forceDryRun)
        logger.info(
            "guarding with \(Plural.count(initialPolicy.rules.count, "rule", "rules"))",
            metadata: ["policy": "\(options.policyPath)"]
        )
        let polling = Task { try await loop.run(responder: responder, delegate: delegate, clock: ContinuousClock()) }
        let monitor = SignalMonitor([SIGHUP, SIGINT, SIGTERM]) { [logger] signal in
            if signal == SIGHUP {
                reload.request()
            } else {
                logger.notice("stopping on signal \(signal)")
                polling.cancel()
            }
        }
        defer { monitor.cancel() }
        do {
            try await polling.value
        } catch is CancellationError {
            logger.notice("stopped")
        }
        return delegate.lastPass
    }

    /// A SIGHUP not yet acted on.
    final class ReloadRequest: Sendable {
        private let pending = Atomic<Bool>(false)

        func request() { pending.store(true, ordering: .relaxed) }
        func take() -> Bool { pending.exchange(false, ordering: .relaxed) }
    }
}
