import Enforcement
import Forecast
import FoundationEssentials
import LockInspection
import Logging
import PGWardenSQL
import Policy
import Postgres
import Response
import WaitGraph
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Watches the migration while it runs — each of its lock waits, who blocks it, the queue
/// behind it — through the same responder and loop as the guard: its policy, `--max-lock-wait`
/// and the operator's answers all become identity-checked, audited signals.
final class MigrationMonitor: ResponseLoopDelegate, @unchecked Sendable {
    // Confined to the task that runs ``watch(processGroup:)`` (and ``takeBaseline()`` before it).

    let settings: UpgradeSettings
    let log: RunLog
    let logger: Logger
    let operatorPrompt: OperatorPrompt?
    let policy: Policy?
    private let audit: [any AuditSink]
    let onWait: @Sendable (String) -> Void
    var finder: MigrationSessionFinder
    var processGroup: @Sendable () -> pid_t? = { nil }

    var records: [RunReport.LockWaitRecord] = []
    /// The queues behind the migration's own locks.
    var holds = LockHoldTracker()
    /// The forecast's estimates by statement (``MigrationProgress/key(_:)``).
    var estimates: [String: SecondsEstimate] = [:]
    /// The progress of the statement holding the lock with the longest queue, read at most once a second.
    var holdProgress: String?
    var holdProgressReadAt: ContinuousClock.Instant?
    /// The loop's session, as the last poll used it: where a wait's end is checked.
    var connection: Connection?
    /// Why the monitor stopped the migration's statement, if it did.
    private(set) var abort: LockWaitAbort?
    /// What the report's warnings should say of this attempt.
    private(set) var warnings: [String] = []
    var question: OperatorQuestion?
    /// When the question's figures were last brought up to date.
    var questionRefreshedAt: ContinuousClock.Instant?
    private var questionText: String?
    private var statusText: String?
    private var statusDrawnAt: ContinuousClock.Instant?
    private let startedAt = ContinuousClock.now
    /// The attempt this monitor watches, for the status line.
    var attempt = 1
    var waitUntil: ContinuousClock.Instant?
    var warnedQueue: Set<Int32> = []
    private var unidentifiedSince: ContinuousClock.Instant?
    private var warnedUnidentified = false
    private var connectionLostLogged = false
    /// The migration's sessions claimed in the database for a guard to see.
    var claims = MigrationClaims()
    /// Says when someone else cancels or terminates the migration's statement.
    let outside: OutsideSignalWatch

    init(
        settings: UpgradeSettings,
        runApplicationName: String,
        policy: Policy?,
        prompt: OperatorPrompt?,
        audit: [any AuditSink],
        log: RunLog,
        logger: Logger,
        onWait: @escaping @Sendable (String) -> Void
    ) {
        self.settings = settings
        finder = MigrationSessionFinder(
            runApplicationName: runApplicationName,
            applicationNameMatch: settings.appNameMatch.map(Glob.init)
        )
        self.policy = policy
        operatorPrompt = prompt
        self.audit = audit
        self.log = log
        self.logger = logger
        self.onWait = onWait
        outside = OutsideSignalWatch(log: log, connectionString: settings.connectionString, logger: logger)
    }

    /// Reads the sessions that exist before the migration starts: until the migration's own are
    /// identified, no session that connected later is signalled.
    func takeBaseline() async {
        do {
            let (connection, _) = try await InspectorSession.open(
                connectionString: settings.connectionString,
                logger: logger
            )
            defer { Task { await connection.close() } }
            var keys: Set<SessionKey> = []
            for row in try await connection.query(Queries.clientSessions).rows {
                keys.insert(
                    SessionKey(
                        pid: try row.require(Int32.self, "pid"),
                        backendStart: try row.decode(String.self, "backend_start")
                    )
                )
            }
            finder.setBaseline(keys)
        } catch {
            log.warn(
                "cannot read the sessions before the migration (\(error.message)): no session will be signalled until the migration's are identified"
            )
        }
    }

    /// Polls until the task is cancelled (the migration has ended).
    func watch(processGroup: @escaping @Sendable () -> pid_t?) async {
        self.processGroup = processGroup
        let loop = ResponseLoop(connectionString: settings.connectionString, audit: audit, logger: logger)
        let responder = BlockerResponder(policy: policy, maxLockWait: settings.maxLockWait)
        log.listenToMigration { [outside] line in outside.read(line) }
        try? await loop.run(responder: responder, delegate: self, clock: ContinuousClock())
        log.listenToMigration(nil)
        await outside.settle()
        warnings += outside.warnings
        operatorPrompt?.settle()
        statusText = nil
        showQuestion(nil)
        for index in records.indices where !records[index].ended { records[index].ended = true }
        await endHolds()
        if !finder.sessions.isIdentified, unidentifiedSince != nil {
            warnings.append(
                "the migration's sessions were never identified (not named \(finder.runApplicationName), no socket of its"
                    + " process tree): its lock waits could not be told from others', and no session that connected after"
                    + " it started was signalled"
            )
        }
    }

    // MARK: ResponseLoopDelegate

    func prepare(_ responder: inout BlockerResponder) -> Duration { settings.interval }

    func context(for snapshot: LockSnapshot, on connection: Connection, ownPIDs: Set<Int32>) async
        -> ResponderContext
    {
        self.connection = connection
        for key in finder.identify(in: snapshot, migrationRoot: processGroup()) {
            log.say("the migration's session: pid \(key.pid) (\(finder.methods[key] ?? "identified"))")
        }
        await claimIdentifiedSessions(on: connection)
        outside.setOwnPIDs(ownPIDs)
        return ResponderContext(
            ownPIDs: ownPIDs,
            migration: finder.sessions,
            claims: await otherRunsClaims(for: snapshot, on: connection)
        )
    }

    func observe(
        _ snapshot: LockSnapshot,
        pollSeconds: Double,
        responder: BlockerResponder,
        context: ResponderContext
    ) async -> [Response] {
        noteUnidentified(snapshot)
        let waits = snapshot.waits.filter { finder.sessions.contains($0.activity.key(pid: $0.pid)) }
        await track(waits, in: snapshot)
        await trackHolds(in: snapshot)
        let orders = askOperator(waits, in: snapshot, responder: responder, context: context)
        updateStatus(waits, in: snapshot)
        return orders
    }

    /// The operator's question, kept on screen below the log (with the status line above it).
    func showQuestion(_ text: String?) {
        questionText = text
        guard log.isTerminal else {
            if let text { log.pin(text) }
            return
        }
        redrawFooter()
    }

    /// The status line, on a terminal only, redrawn at least once a second.
    private func updateStatus(_ waits: [LockWait], in snapshot: LockSnapshot) {
        guard log.isTerminal else { return }
        let now = ContinuousClock.now
        if let drawn = statusDrawnAt, now - drawn < .seconds(1) { return }
        statusDrawnAt = now
        let wait = waits.max { $0.waitingSeconds < $1.waitingSeconds }
        let queue = wait.map { snapshot.waits(blockedBy: $0.pid) } ?? []
        let hold = wait == nil ? holds.longestOpen : nil
        statusText =
            MigrationStatusLine(
                attempt: attempt,
                elapsedSeconds: (now - startedAt).seconds,
                wait: wait,
                blockers: wait?.blockedBy.compactMap(snapshot.blocker) ?? [],
                hold: hold,
                queued: hold?.queued ?? queue.count,
                queuedOldestSeconds: hold?.queuedOldestSeconds ?? queue.map(\.waitingSeconds).max() ?? 0,
                requestTimeout: settings.requestTimeout,
                policy: policy,
                maxLockWait: settings.maxLockWait,
                askingOperator: question != nil,
                interactive: operatorPrompt != nil,
                progress: hold == nil ? nil : holdProgress
            ).text
        redrawFooter()
    }

    private func redrawFooter() {
        let parts = [statusText.map { "[status] " + $0 }, questionText].compactMap { $0 }
        log.pin(parts.isEmpty ? nil : parts.joined(separator: "\n"))
    }

    func carriedOut(_ record: AuditRecord) {
        let response = record.response
        let pid = response.session.pid
        let outcome = " → \(record.outcome)" + (record.detail.map { " (\($0))" } ?? "")
        if response.actor == .maxLockWait, let wait = response.waiters.first, let limit = settings.maxLockWait {
            log.warn(
                "the migration (pid \(pid)) has waited \(DurationSyntax.format(seconds: wait.waitingSeconds)) for"
                    + " \(WaitGraph.describe(wait.lock)) (--max-lock-wait \(DurationSyntax.format(seconds: limit.seconds))):"
                    + " cancelling its statement\(outcome)"
            )
        } else {
            log.say("\(Self.describe(response.actor)): \(response.action.rawValue) pid \(pid)\(outcome)")
        }
        if response.actor == .maxLockWait, record.report?.outcome.reachedSession == true {
            abort = .maxLockWait
            outside.runSignalled()
        }
        guard record.report != nil || response.disposition == .rateLimited else { return }
        for index in records.indices {
            for blocker in records[index].blockers.indices where records[index].blockers[blocker].pid == pid {
                records[index].blockers[blocker].action = response.action.rawValue
                records[index].blockers[blocker].actionBy = response.actor.description
                records[index].blockers[blocker].actedAt = record.time
                records[index].blockers[blocker].outcome = record.outcome
            }
        }
    }

    func connected(reconnect: Bool, role: SessionRole) {
        claims.ownRole = role.role
        if reconnect { log.say("reconnected to the database") }
        connectionLostLogged = false
    }

    func roleChanged(from old: SessionRole, to new: SessionRole) {
        claims.ownRole = new.role
        log.say("the role's privileges or settings changed; watching as role \(new.role) is now")
        new.limitationsAdded(since: old).forEach { log.warn($0) }
    }

    func failed(_ error: PostgresError, phase: ResponseLoop.Phase) {
        switch phase {
        case .connecting, .connectionLost:
            if !connectionLostLogged {
                log.warn("lost the connection to the database (\(error.message)); reconnecting")
            }
            connectionLostLogged = true
        case .polling:
            logger.warning("poll failed: \(error.description)")
        }
    }

    /// Says once, after a few seconds of waits with no session of the migration's identified, that
    /// pgwarden keeps looking, and what that means.
    private func noteUnidentified(_ snapshot: LockSnapshot) {
        guard !finder.sessions.isIdentified, !snapshot.isEmpty else { return }
        let now = ContinuousClock.now
        let since = unidentifiedSince ?? now
        unidentifiedSince = since
        guard !warnedUnidentified, now - since >= .seconds(3) else { return }
        warnedUnidentified = true
        log.warn(
            "sessions wait on locks, but none is identified as the migration's yet (named \(finder.runApplicationName),"
                + " or a socket of its process tree): still looking; until then no wait is shown as the migration's and"
                + " no session that connected after it started is signalled (--app-name-match names its sessions)"
        )
    }

    private static func describe(_ actor: Actor) -> String {
        switch actor {
        case .rule(let name): "policy rule '\(name)'"
        case .escalation(let name): "policy rule '\(name)' (escalation)"
        case .maxLockWait: "--max-lock-wait"
        case .operator: "operator"
        case .preflight(let key): "[preflight] \(key)"
        }
    }

    /// The migration is being stopped by the operator.
    func abortMigration() {
        abort = .operatorRequest
        log.say("aborting the migration (operator)")
        if let group = processGroup() { kill(-group, SIGTERM) }
    }
}
