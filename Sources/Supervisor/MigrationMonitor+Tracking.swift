import FoundationEssentials
import PGWardenSQL
import Postgres
import Response
import WaitGraph
import WardenSupport

extension MigrationMonitor {
    /// Keeps the report's record of each lock wait of the migration, and says what changed.
    func track(_ waits: [LockWait], in snapshot: LockSnapshot) async {
        let now = Date()
        for index in records.indices where !records[index].ended {
            if !waits.contains(where: { $0.pid == records[index].pid && $0.lock == records[index].lock }) {
                records[index].ended = true
                await sayHowWaitEnded(index)
            }
        }
        for wait in waits {
            let index = recordIndex(for: wait, in: snapshot, now: now)
            let queue = snapshot.waits(blockedBy: wait.pid)
            let oldest = queue.map(\.waitingSeconds).max() ?? 0
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
            warnIfNearRequestTimeout(wait.pid, oldest: oldest)
        }
    }

    /// "got its lock" only when PostgreSQL granted it; a wait that ended otherwise (lock_timeout, a cancel, an
    /// error) is said as such, and counts against the attempt's success.
    func sayHowWaitEnded(_ index: Int) async {
        let record = records[index]
        let waited = DurationSyntax.format(seconds: record.waitedSeconds)
        // A cancel or terminate from outside the run ended the wait: never a grant.
        let cancelledOutside = outside.takeNotice()
        let granted = cancelledOutside ? false : await lockGranted(record)
        records[index].granted = granted
        if cancelledOutside {
            log.warn(
                "pid \(record.pid) stopped waiting for its \(record.lock.mode) after \(waited): cancelled, not granted"
            )
            return
        }
        switch granted {
        case true?: log.say("pid \(record.pid) got its \(record.lock.mode) after \(waited)")
        case false?:
            log.warn(
                "pid \(record.pid) stopped waiting for its \(record.lock.mode) after \(waited) without getting it"
                    + " (its statement was cancelled, timed out or failed)"
            )
        case nil: log.say("pid \(record.pid) no longer waits for its \(record.lock.mode) (after \(waited))")
        }
    }

    /// Whether PostgreSQL granted the lock: `true` when the session holds it; `false` when the transaction
    /// that waited is still open without it; `nil` when that cannot be told (the transaction ended).
    private func lockGranted(_ record: RunReport.LockWaitRecord) async -> Bool? {
        guard let connection else { return nil }
        do {
            let parameters: [(any PostgresEncodable)?] = [
                record.pid, record.lock.locktype, record.lock.mode, record.lock.relation,
            ]
            guard let row = try await connection.query(Queries.lockGranted, parameters).rows.first else { return nil }
            if try row.decode(Bool.self, "granted") == true { return true }
            // Its transaction failed (an error right where it waited: lock_timeout, a cancel), or the transaction
            // that waited is still open without the lock it would hold had it been granted.
            if try row.decode(String.self, "state") == "idle in transaction (aborted)" { return false }
            let transaction = try row.decode(String.self, "xact_start")
            return transaction != nil && transaction == record.xactStart ? false : nil
        } catch {
            return nil
        }
    }

    private func recordIndex(for wait: LockWait, in snapshot: LockSnapshot, now: Date) -> Int {
        if let existing = records.firstIndex(where: { !$0.ended && $0.pid == wait.pid && $0.lock == wait.lock }) {
            return existing
        }
        records.append(
            RunReport.LockWaitRecord(
                pid: wait.pid,
                startedAt: now.addingTimeInterval(-wait.waitingSeconds),
                waitedSeconds: wait.waitingSeconds,
                lock: wait.lock,
                query: wait.activity.query,
                xactStart: wait.activity.xactStart
            )
        )
        let blockers = wait.blockedBy.map { Self.describeBlocker($0, in: snapshot) }.joined(separator: "; ")
        log.say("migration pid \(wait.pid) waits for \(describe(wait.lock)), blocked by \(blockers)")
        onWait(
            "pid \(wait.pid) waits for \(describe(wait.lock)), blocked by \(wait.blockedBy.map(String.init).joined(separator: ", "))"
        )
        return records.count - 1
    }

    func warnIfNearRequestTimeout(_ pid: Int32, oldest: Double) {
        guard let limit = settings.requestTimeout, oldest >= 0.8 * limit.seconds, !warnedQueue.contains(pid) else {
            return
        }
        warnedQueue.insert(pid)
        log.warn(
            "requests queued behind the migration have waited \(DurationSyntax.format(seconds: oldest)),"
                + " near the request timeout (\(DurationSyntax.format(seconds: limit.seconds))): they will soon be killed"
        )
    }

    /// `pid 456, idle in transaction 41s, xact 41s, app, monthly-report: SELECT …`.
    static func describeBlocker(_ pid: Int32, in snapshot: LockSnapshot) -> String {
        guard pid != 0 else {
            let gids = snapshot.blocker(0)?.preparedGIDs.map { "'\($0)'" }.joined(separator: ", ") ?? ""
            return
                "prepared transaction \(gids.isEmpty ? "(gid unknown)" : gids) (pid 0: COMMIT PREPARED or ROLLBACK PREPARED ends it)"
        }
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
}
