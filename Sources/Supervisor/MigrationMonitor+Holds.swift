import Forecast
import FoundationEssentials
import Logging
import PGWardenSQL
import Postgres
import WaitGraph
import WardenSupport

extension MigrationMonitor {
    /// Follows the queues behind the migration's own locks (the report's `lock_holds`) and says when one forms,
    /// grows and ends: the outage a migration causes by holding a lock, which no wait of its own shows.
    func trackHolds(in snapshot: LockSnapshot) async {
        let sessions = finder.sessions
        let isMigration = { (pid: Int32) -> Bool in
            guard let activity = snapshot.blocker(pid)?.activity ?? snapshot.wait(of: pid)?.activity else {
                return false
            }
            return sessions.contains(activity.key(pid: pid))
        }
        for event in holds.observe(snapshot, isMigration: isMigration, at: Date()) {
            await say(event)
        }
        for hold in holds.records where !hold.ended {
            warnIfNearRequestTimeout(hold.pid, oldest: hold.queuedOldestSeconds)
        }
        if let open = holds.longestOpen {
            let now = ContinuousClock.now
            if holdProgressReadAt.map({ now - $0 >= .seconds(1) }) ?? true {
                holdProgressReadAt = now
                holdProgress = await progress(of: open.pid)?.text
            }
        } else {
            holdProgress = nil
        }
    }

    /// What PostgreSQL reports of `pid`'s statement, with the forecast's estimate of it.
    func progress(of pid: Int32) async -> MigrationProgress? {
        guard let connection else { return nil }
        do {
            guard let row = try await connection.query(Queries.migrationProgress, [pid]).rows.first else { return nil }
            let query = try row.decode(String.self, "query") ?? ""
            return MigrationProgress(
                command: try row.decode(String.self, "command"),
                phase: try row.decode(String.self, "phase"),
                done: try row.decode(Double.self, "done"),
                total: try row.decode(Double.self, "total"),
                runningSeconds: try row.decode(Double.self, "running_seconds") ?? 0,
                estimate: estimates[MigrationProgress.key(query)]
            )
        } catch {
            logger.debug("cannot read the progress of pid \(pid): \(error.message)")
            return nil
        }
    }

    /// Ends the holds still open: the migration has ended, and its locks with it.
    func endHolds() async {
        for event in holds.endAll(at: Date()) { await say(event) }
    }

    private func say(_ event: LockHoldTracker.Event) async {
        switch event {
        case .began(let index):
            holds.setMode(await heldMode(holds.records[index]), of: index)
            let hold = holds.records[index]
            let progress = await progress(of: hold.pid)?.text.map { "; " + $0 } ?? ""
            log.say(
                "the migration (pid \(hold.pid)) holds \(hold.mode ?? "a lock") on \(hold.relation):"
                    + " \(Self.queue(hold.queued)) behind it (oldest waits \(DurationSyntax.format(seconds: hold.queuedOldestSeconds)))"
                    + progress
            )
        case .queueGrew(let index):
            let hold = holds.records[index]
            log.say(
                "\(Self.queue(hold.queued)) behind the migration's \(hold.mode ?? "lock") on \(hold.relation)"
                    + " (oldest waits \(DurationSyntax.format(seconds: hold.queuedOldestSeconds)))"
            )
        case .ended(let index):
            let hold = holds.records[index]
            log.say(
                "nobody queues behind the migration's \(hold.mode ?? "lock") on \(hold.relation) any more: the queue"
                    + " lasted about \(DurationSyntax.format(seconds: hold.to.timeIntervalSince(hold.from))),"
                    + " \(Self.queue(hold.queuedMax)) at most, the oldest waited \(DurationSyntax.format(seconds: hold.oldestWaitSeconds))"
            )
        }
    }

    private static func queue(_ count: Int) -> String {
        "\(count) session\(count == 1 ? "" : "s") queued"
    }

    /// The strongest mode `hold`'s session holds on its relation, as `pg_locks` shows it now.
    private func heldMode(_ hold: RunReport.LockHoldRecord) async -> String? {
        guard let connection else { return nil }
        do {
            let rows = try await connection.query(Queries.heldLockMode, [hold.pid, hold.relation]).rows
            return try rows.first?.decode(String.self, "mode")
        } catch {
            logger.debug("cannot read the mode pid \(hold.pid) holds on \(hold.relation): \(error.message)")
            return nil
        }
    }
}
