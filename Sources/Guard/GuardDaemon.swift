import Foundation
import LockInspection
import Logging
import Policy
import Postgres
import Synchronization
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `pgwarden guard`: polls, applies the policy to sessions that block others, and audits
/// every decision; survives the server restarting; re-reads the policy on SIGHUP and stops
/// cleanly on SIGINT or SIGTERM.
public struct GuardDaemon: Sendable {
    /// How the daemon runs.
    public struct Options: Sendable {
        /// The server to guard; `nil` uses libpq's environment.
        public var connectionString: String?
        /// The policy file, re-read on SIGHUP.
        public var policyPath: String
        /// One pass, then exit.
        public var once: Bool
        /// Signal nothing, whatever the policy says.
        public var forceDryRun: Bool
        /// Where to count: polls, waits, actions, reconnects.
        public var metrics: GuardMetrics?

        /// Creates options.
        public init(
            connectionString: String?,
            policyPath: String,
            once: Bool = false,
            forceDryRun: Bool = false,
            metrics: GuardMetrics? = nil
        ) {
            self.connectionString = connectionString
            self.policyPath = policyPath
            self.once = once
            self.forceDryRun = forceDryRun
            self.metrics = metrics
        }
    }

    /// The longest wait between reconnection attempts.
    public static let maximumBackoff = Duration.seconds(30)

    private let options: Options
    private let initialPolicy: Policy
    private let audit: AuditLog
    private let logger: Logger

    /// Creates a daemon; `policy` was read from `options.policyPath` (a bad one must stop the start).
    public init(options: Options, policy: Policy, audit: AuditLog, logger: Logger) {
        self.options = options
        initialPolicy = policy
        self.audit = audit
        self.logger = logger
    }

    /// Runs until SIGINT or SIGTERM (or one pass with `once`).
    ///
    /// - Throws: with `once`, when the server cannot be reached; otherwise only when cancelled abnormally.
    public func run() async throws {
        let reload = ReloadRequest()
        let polling = Task { try await loop(reload: reload) }
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
    }

    private func loop(reload: ReloadRequest) async throws {
        var engine = PolicyEngine(policy: initialPolicy)
        var session: Session?
        var backoff = Duration.milliseconds(500)
        var hasConnected = false
        let clock = ContinuousClock()
        defer { if let session { Task { await session.connection.close() } } }
        logger.info("guarding with \(initialPolicy.rules.count) rules", metadata: ["policy": "\(options.policyPath)"])
        while !Task.isCancelled {
            if reload.take() { self.reload(&engine) }
            if session == nil {
                do {
                    session = try await Session.open(options.connectionString, logger: logger)
                    logger.info("connected; polling every \(engine.policy.interval)")
                    options.metrics?.recordConnected(reconnect: hasConnected)
                    hasConnected = true
                    backoff = .milliseconds(500)
                } catch {
                    if options.once { throw error }
                    logger.error("cannot connect: \(error.description); retrying in \(backoff)")
                    try await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, Self.maximumBackoff)
                    continue
                }
            }
            guard let current = session else { continue }
            do {
                let started = clock.now
                let snapshot = try await current.inspector.poll()
                options.metrics?.recordPoll(
                    seconds: (clock.now - started).seconds,
                    waits: snapshot.waits.count,
                    longest: snapshot.waits.map(\.waitingSeconds).max() ?? 0
                )
                let context = PolicyEngine.Context(
                    ownPIDs: [await current.connection.backendPID],
                    forceDryRun: options.forceDryRun
                )
                for decision in engine.decide(snapshot, at: clock.now, context: context) {
                    let entry = await current.enforcer.enforce(decision, at: Date())
                    audit.append(entry)
                    options.metrics?.recordAction(
                        rule: decision.rule,
                        action: decision.action.rawValue,
                        outcome: entry.outcome.rawValue
                    )
                }
            } catch  where error.code == .connectionLost || error.code == .connectionFailed {
                logger.warning("lost the connection: \(error.message); reconnecting")
                options.metrics?.recordDisconnected()
                await current.connection.close()
                session = nil
                continue
            } catch {
                logger.error("poll failed: \(error.description)")
            }
            if options.once { return }
            try await Task.sleep(for: engine.policy.interval)
        }
    }

    private func reload(_ engine: inout PolicyEngine) {
        do {
            let policy = try Policy(contentsOf: options.policyPath)
            engine.replace(policy)
            logger.notice("policy reloaded: \(policy.rules.count) rules", metadata: ["policy": "\(options.policyPath)"])
        } catch {
            logger.error("keeping the previous policy: \(error.summary)")
        }
    }

    /// A SIGHUP not yet acted on.
    private final class ReloadRequest: Sendable {
        private let pending = Atomic<Bool>(false)

        func request() { pending.store(true, ordering: .relaxed) }
        func take() -> Bool { pending.exchange(false, ordering: .relaxed) }
    }

    /// pgwarden's session, and what polls and signals through it.
    private struct Session: Sendable {
        let connection: Connection
        let inspector: LockInspector
        let enforcer: PolicyEnforcer

        static func open(_ connectionString: String?, logger: Logger) async throws(PostgresError) -> Session {
            let (connection, role) = try await InspectorSession.open(connectionString: connectionString, logger: logger)
            role.limitations.forEach { logger.warning("\($0)") }
            return Session(
                connection: connection,
                inspector: LockInspector(connection: connection, role: role),
                enforcer: PolicyEnforcer(signaller: BackendSignaller(connection: connection, role: role))
            )
        }
    }
}
