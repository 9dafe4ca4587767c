import Foundation
import Guard
import LockInspection
import Logging
import PGWardenSQL
import Policy
import Postgres
import WaitGraph
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Watches the migration while it runs: each of its lock waits, who blocks it, the queue
/// behind it; and acts by policy, by the operator's answer, or by `--max-lock-wait`.
final class MigrationMonitor: @unchecked Sendable {
    // Confined to the one task that runs ``watch(processGroup:)``.

    /// Why the monitor stopped the migration, if it did.
    enum Abort: String, Sendable {
        case maxLockWait = "max-lock-wait"
        case operatorRequest = "operator"
    }

    private let settings: UpgradeSettings
    private let migrationApplication: Glob
    private let log: RunLog
    private let logger: Logger
    private let prompt: OperatorPrompt?
    private var engine: PolicyEngine?
    private var session: (connection: Connection, inspector: LockInspector, signaller: BackendSignaller)?
    private let onWait: @Sendable (String) -> Void

    private(set) var records: [RunReport.LockWaitRecord] = []
    private(set) var abort: Abort?
    private var migrationSeen = false
    private var watchingEverything = false
    private var polls = 0
    private var pendingQuestion: Int32?
    private var asked: Set<Int32> = []
    private var cancelledForMaxWait: Set<Int32> = []
    private var warnedQueue: Set<Int32> = []
    private var connectionLostLogged = false
    private let clock = ContinuousClock()

    init(
        settings: UpgradeSettings,
        migrationApplication: Glob,
        policy: Policy?,
        interactive: Bool,
        log: RunLog,
        logger: Logger,
        onWait: @escaping @Sendable (String) -> Void
    ) {
        self.settings = settings
        self.migrationApplication = migrationApplication
        engine = policy.map(PolicyEngine.init(policy:))
        prompt = interactive ? OperatorPrompt() : nil
        self.log = log
        self.logger = logger
        self.onWait = onWait
    }

    /// Polls until the task is cancelled (the migration has ended).
    func watch(processGroup: @escaping @Sendable () -> pid_t?) async {
        let started = clock.now
        while !Task.isCancelled {
            await pollOnce(processGroup: processGroup, elapsed: clock.now - started)
            try? await Task.sleep(for: settings.interval)
        }
        for index in records.indices where !records[index].ended { records[index].ended = true }
        if let session { await session.connection.close() }
    }

    private func pollOnce(processGroup: () -> pid_t?, elapsed: Duration) async {
        polls += 1
        do {
            let current = try await openSession()
            let snapshot = try await current.inspector.poll()
            if !migrationSeen, !watchingEverything, polls % 8 == 1 {
                try await lookForMigrationSessions(current.connection, elapsed: elapsed)
            }
            let waits = snapshot.waits.filter { watchingEverything || isMigration($0.activity) }
            if !waits.isEmpty { migrationSeen = true }
            track(waits, in: snapshot)
            await applyPolicy(snapshot, signaller: current.signaller)
            await applyMaxLockWait(waits, signaller: current.signaller)
            await askOperator(waits, in: snapshot, signaller: current.signaller, processGroup: processGroup)
            connectionLostLogged = false
        } catch  where error.code == .connectionLost || error.code == .connectionFailed {
            if !connectionLostLogged {
                log.warn("lost the connection to the database (\(error.message)); reconnecting")
            }
            connectionLostLogged = true
            if let session { await session.connection.close() }
            session = nil
        } catch {
            logger.warning("poll failed: \(error.description)")
        }
    }

    private func openSession() async throws(PostgresError) -> (
        connection: Connection, inspector: LockInspector, signaller: BackendSignaller
    ) {
        if let session { return session }
        let (connection, role) = try await InspectorSession.open(
            connectionString: settings.connectionString,
            logger: logger
        )
        let opened = (
            connection, LockInspector(connection: connection, role: role),
            BackendSignaller(connection: connection, role: role)
        )
        if connectionLostLogged { log.say("reconnected to the database") }
        session = opened
        return opened
    }

    private func isMigration(_ activity: SessionActivity?) -> Bool {
        migrationApplication.matches(activity?.applicationName ?? "")
    }

    /// Says once when no session carries the migration's name: its code sets its own.
    private func lookForMigrationSessions(_ connection: Connection, elapsed: Duration) async throws(PostgresError) {
        let rows = try await connection.query(Queries.sessionsNamed).rows
        for row in rows where migrationApplication.matches((try? row.decode(String.self, "application_name")) ?? "") {
            migrationSeen = true
            return
        }
        if elapsed >= .seconds(3) {
            watchingEverything = true
            log.warn(
                "no session named \(migrationApplication) is connected: the command sets its own application_name?"
                    + " Watching every lock wait in the database; acting only by explicit policy rules"
                    + " (use --app-name-match to name its sessions)"
            )
        }
    }

    private func track(_ waits: [LockWait], in snapshot: LockSnapshot) {
        let now = Date()
        for index in records.indices where !records[index].ended {
            if !waits.contains(where: { $0.pid == records[index].pid && $0.lock == records[index].lock }) {
                records[index].ended = true
                log.say(
                    "pid \(records[index].pid) got its \(records[index].lock.mode) after \(DurationSyntax.format(seconds: records[index].waitedSeconds))"
                )
            }
        }
        for wait in waits {
            let queue = snapshot.waits(blockedBy: wait.pid)
            let oldest = queue.map(\.waitingSeconds).max() ?? 0
            let index: Int
            if let existing = records.firstIndex(where: { !$0.ended && $0.pid == wait.pid && $0.lock == wait.lock }) {
                index = existing
            } else {
                records.append(
                    RunReport.LockWaitRecord(
                        pid: wait.pid,
                        startedAt: now.addingTimeInterval(-wait.waitingSeconds),
                        waitedSeconds: wait.waitingSeconds,
                        lock: wait.lock,
                        query: wait.activity.query
                    )
                )
                index = records.count - 1
                let blockers = wait.blockedBy.map { describeBlocker($0, in: snapshot) }.joined(separator: "; ")
                log.say("migration pid \(wait.pid) waits for \(describe(wait.lock)), blocked by \(blockers)")
                onWait(
                    "pid \(wait.pid) waits for \(describe(wait.lock)), blocked by \(wait.blockedBy.map(String.init).joined(separator: ", "))"
                )
            }
            records[index].waitedSeconds = wait.waitingSeconds
            if queue.count > records[index].queuedBehindMax {
                log.say(
                    "\(queue.count) session\(queue.count == 1 ? "" : "s") queued behind the migration (oldest waits \(DurationSyntax.format(seconds: oldest)))"
                )
            }
            records[index].queuedBehindMax = max(records[index].queuedBehindMax, queue.count)
            records[index].queuedOldestSeconds = max(records[index].queuedOldestSeconds, oldest)
            for pid in wait.blockedBy where !records[index].blockers.contains(where: { $0.pid == pid }) {
                let activity = snapshot.blocker(pid)?.activity
                records[index].blockers.append(
                    RunReport.BlockerRecord(
                        pid: pid,
                        state: activity?.state,
                        xactSeconds: activity?.xactSeconds,
                        applicationName: activity?.applicationName,
                        query: activity?.query
                    )
                )
            }
            if let limit = settings.requestTimeout, oldest >= 0.8 * limit.seconds, !warnedQueue.contains(wait.pid) {
                warnedQueue.insert(wait.pid)
                log.warn(
                    "requests queued behind the migration have waited \(DurationSyntax.format(seconds: oldest)),"
                        + " near the request timeout (\(DurationSyntax.format(seconds: limit.seconds))): they will soon be killed"
                )
            }
        }
    }

    private func describeBlocker(_ pid: Int32, in snapshot: LockSnapshot) -> String {
        guard pid != 0 else { return "a prepared transaction (pid 0)" }
        guard let activity = snapshot.blocker(pid)?.activity else { return "pid \(pid)" }
        var parts = ["pid \(pid)"]
        if let state = activity.state {
            parts.append(state + (activity.stateSeconds.map { " " + DurationSyntax.format(seconds: $0) } ?? ""))
        }
        if let xact = activity.xactSeconds { parts.append("xact " + DurationSyntax.format(seconds: xact)) }
        if let user = activity.usename { parts.append(user) }
        if let application = activity.applicationName, !application.isEmpty { parts.append(application) }
        let query = (activity.query ?? "").split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return "\(parts.joined(separator: ", ")): \(query.prefix(120))"
    }

    private func applyPolicy(_ snapshot: LockSnapshot, signaller: BackendSignaller) async {
        guard var engine else { return }
        let migrationPIDs = Set(snapshot.waits.filter { isMigration($0.activity) }.map(\.pid))
            .union(snapshot.blockers.filter { isMigration($0.activity) }.map(\.pid))
        let decisions = engine.decide(
            snapshot,
            at: clock.now,
            context: PolicyEngine.Context(protectedPIDs: migrationPIDs)
        )
        self.engine = engine
        let enforcer = PolicyEnforcer(signaller: signaller)
        for decision in decisions {
            let entry = await enforcer.enforce(decision, at: Date())
            log.say(
                "policy rule '\(decision.rule)': \(decision.action.rawValue) pid \(decision.blocker.pid)"
                    + (decision.isEscalation ? " (escalation)" : "") + " → \(entry.outcome.rawValue)"
                    + (entry.detail.map { " (\($0))" } ?? "")
            )
            guard entry.outcome == .signalled || entry.outcome == .failed || entry.outcome == .gone else { continue }
            record(
                action: decision.action.rawValue,
                by: "policy:\(decision.rule)",
                on: decision.blocker.pid,
                outcome: entry.outcome.rawValue
            )
        }
    }

    private func record(action: String, by actor: String, on pid: Int32, outcome: String) {
        for index in records.indices {
            for blocker in records[index].blockers.indices where records[index].blockers[blocker].pid == pid {
                records[index].blockers[blocker].action = action
                records[index].blockers[blocker].actionBy = actor
                records[index].blockers[blocker].actedAt = Date()
                records[index].blockers[blocker].outcome = outcome
            }
        }
    }

    private func applyMaxLockWait(_ waits: [LockWait], signaller: BackendSignaller) async {
        guard let limit = settings.maxLockWait else { return }
        for wait in waits where wait.waitingSeconds >= limit.seconds && isMigration(wait.activity) {
            guard cancelledForMaxWait.insert(wait.pid).inserted else { continue }
            log.warn(
                "the migration (pid \(wait.pid)) has waited \(DurationSyntax.format(seconds: wait.waitingSeconds)) for"
                    + " \(describe(wait.lock)) (--max-lock-wait \(DurationSyntax.format(seconds: limit.seconds))): cancelling its statement"
            )
            let outcome = await signaller.signal(wait.pid, .cancel)
            if outcome.result.isSuccess {
                abort = .maxLockWait
            } else {
                log.warn("the cancel failed: \(outcome.result)")
            }
        }
    }

    private func askOperator(
        _ waits: [LockWait],
        in snapshot: LockSnapshot,
        signaller: BackendSignaller,
        processGroup: () -> pid_t?
    ) async {
        guard let prompt else { return }
        let blockers = Set(waits.filter { isMigration($0.activity) }.flatMap(\.blockedBy)).subtracting([0])
        if let pending = pendingQuestion {
            guard blockers.contains(pending) else {
                log.say("pid \(pending) no longer blocks the migration")
                pendingQuestion = nil
                return
            }
            guard let answer = prompt.takeAnswer() else { return }
            pendingQuestion = nil
            let choice = answer.isEmpty ? proposal(for: pending, in: snapshot) : String(answer.prefix(1))
            switch choice {
            case "c", "t":
                let action: BackendSignaller.Action = choice == "c" ? .cancel : .terminate
                let outcome = await signaller.signal(pending, action)
                log.say("\(action.rawValue) pid \(pending) (operator): \(outcome.result)")
                record(
                    action: action.rawValue,
                    by: "operator",
                    on: pending,
                    outcome: outcome.result.isSuccess ? "signalled" : "failed"
                )
            case "a":
                log.say("aborting the migration (operator)")
                abort = .operatorRequest
                if let group = processGroup() { kill(-group, SIGTERM) }
            default:
                log.say("keeping waiting on pid \(pending) (operator)")
            }
            return
        }
        guard let next = blockers.sorted().first(where: { !asked.contains($0) }) else { return }
        asked.insert(next)
        pendingQuestion = next
        let proposed = proposal(for: next, in: snapshot)
        let idle = snapshot.blocker(next)?.activity?.state?.hasPrefix("idle in transaction") == true
        prompt.prompt(
            "\(describeBlocker(next, in: snapshot)) blocks the migration."
                + (idle ? " It is idle in transaction: only terminate releases its locks." : "")
                + " [c]ancel, [t]erminate, [w]ait, [a]bort the migration? [\(proposed)] ",
            log: log
        )
    }

    private func proposal(for pid: Int32, in snapshot: LockSnapshot) -> String {
        snapshot.blocker(pid)?.activity?.state?.hasPrefix("idle in transaction") == true ? "t" : "c"
    }
}

extension OperatorPrompt {
    func prompt(_ text: String, log: RunLog) {
        log.prompt(text)
    }
}
