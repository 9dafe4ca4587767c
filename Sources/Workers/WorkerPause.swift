import FoundationEssentials
import Logging
import Processes
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Pauses and resumes a user's cron-driven workers, journaled ahead of every change.
///
/// Every path is recoverable: the journal is written (and fsynced) before the crontab
/// changes, the crontab is re-read just before each write (compare-and-swap), and
/// ``resume()`` restores exactly the lines the pause commented, whatever happened between.
package struct WorkerPause: Sendable {
    /// Where the journal lives.
    package let stateDirectory: StateDirectory
    let logger: Logger
    let now: @Sendable () -> Date

    /// How many times to redo a change when the crontab keeps changing under it.
    static let compareAndSwapAttempts = 5

    /// Creates a worker pause on `stateDirectory`.
    package init(stateDirectory: StateDirectory, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.stateDirectory = stateDirectory
        self.logger = logger
        self.now = now
    }

    /// What a pause did.
    package struct PauseOutcome: Sendable {
        package let record: PauseRecord
        package let stopped: [StoppedWorker]
        /// Matching processes of the user that cron did not start (scope `cron`): left running.
        package let notStartedByCron: [ProcessEntry]
    }

    /// What the crontab pause would do, without changing anything: for `--dry-run` and preflight checks.
    package struct Plan: Sendable {
        package let lines: [CrontabPause.PausedLine]
        package let runningWorkers: [ProcessEntry]
    }

    /// Checks the user and patterns against the crontab and the running processes; changes nothing.
    package func plan(
        user: String,
        patterns: [WorkerPattern],
        excludingProcessTrees excluded: Set<Int32> = []
    ) async throws(WorkersError) -> Plan {
        let account = try UserAccount(named: user)
        let text = try await Crontab(user: user).read()
        // Another run's pause first: its markers hide the lines a --match would find ("matches no job line").
        try refuseAnotherPause(in: text, of: user)
        let paused = try CrontabPause.pause(text, patterns: patterns, pauseID: "plan")
        let workers = try ProcFileSystem.snapshot().workers(
            matching: patterns,
            uid: account.uid,
            selfPID: getpid(),
            excludedRoots: excluded
        )
        return Plan(lines: paused.lines, runningWorkers: workers)
    }

    /// Comments out the crontab lines of `user` whose command matches, then stops running workers.
    ///
    /// - Parameters:
    ///   - excluded: process trees never to signal (the supervised migration).
    ///   - owner: who pauses, for the journal.
    package func pause(
        user: String,
        patterns: [WorkerPattern],
        stop: StopMode,
        scope: StopScope = .cron,
        grace: Duration,
        excludingProcessTrees excluded: Set<Int32> = [],
        owner: String = "pgwarden workers pause",
        stopInterrupted: @escaping @Sendable () -> Bool = { false }
    ) async throws -> PauseOutcome {
        let account = try UserAccount(named: user)
        try prepareStateDirectory()
        let lock = try lockStateDirectory()
        defer { lock.release() }
        if let existing = try PauseRecord.load(PauseRecord.fileName, from: stateDirectory) {
            throw WorkersError(
                .alreadyPaused,
                "the workers of \(existing.user) are already paused (pause \(existing.pauseID) since \(existing.pausedAt.formatted(.iso8601)))",
                hint: "pgwarden workers resume --state-dir \(stateDirectory.path)"
            )
        }
        // An expression that gives up on a running command line is refused here, before anything changes.
        // Only when stopping: listing those left running is not worth refusing the pause for.
        if stop != .none { _ = try runningWorkers(matching: patterns, uid: account.uid, excluding: excluded) }
        let userLock = try CrontabUserLock(user: user)
        defer { userLock.release() }
        var record = try await installPause(user: user, patterns: patterns, owner: owner, holding: userLock)
        logger.info("paused crontab lines", metadata: ["user": "\(user)", "lines": "\(record.pausedLines.count)"])
        let (running, stopped) = await stopRunning(
            patterns: patterns,
            account: account,
            stop: stop,
            scope: scope,
            grace: grace,
            excluded: excluded,
            interrupted: stopInterrupted
        )
        record.workers = stopped.map {
            PauseRecord.Worker(
                pid: $0.process.pid,
                commandLine: Redaction.redact($0.process.commandLine),
                outcome: $0.outcome.description
            )
        }
        do {
            try record.save(as: PauseRecord.fileName, in: stateDirectory)
        } catch {
            // The journal written before the crontab changed still resumes it; only the workers' outcomes are lost.
            logger.warning("\(error.summary): the stopped workers are not journaled")
        }
        return PauseOutcome(record: record, stopped: stopped, notStartedByCron: running.notStartedByCron)
    }

    /// Comments out the matching lines, journaled first, re-reading the crontab just before the write
    /// (compare-and-swap, a few times while it keeps changing); returns the journal of the pause.
    private func installPause(
        user: String,
        patterns: [WorkerPattern],
        owner: String,
        holding userLock: CrontabUserLock
    ) async throws -> PauseRecord {
        let crontab = Crontab(user: user)
        let pauseID = RunIdentifier.make(at: now())
        var before = try await crontab.read()
        try refuseAnotherPause(in: before, of: user)
        for _ in 0..<Self.compareAndSwapAttempts {
            let paused = try CrontabPause.pause(before, patterns: patterns, pauseID: pauseID)
            var journal = PauseRecord(
                pauseID: pauseID,
                user: user,
                patterns: patterns.map(\.source),
                pausedAt: now(),
                phase: .pausing,
                crontabBefore: before,
                pausedLines: paused.lines,
                owner: owner
            )
            journal.installing = paused.text
            try journal.save(as: PauseRecord.fileName, in: stateDirectory)
            FailPoint.hit("workers.pause.journaled")
            let current = try await crontab.read()
            guard current == before else {
                logger.notice(
                    "the crontab changed while pausing; pausing again from the new one",
                    metadata: ["user": "\(user)"]
                )
                before = current
                try refuseAnotherPause(in: before, of: user)
                continue
            }
            do {
                try await crontab.install(paused.text, stagingIn: stateDirectory, holding: userLock, logger: logger)
            } catch {
                try await abandonPause(of: crontab, before: before, failure: error)
            }
            FailPoint.hit("workers.pause.installed")
            journal.phase = .paused
            journal.installing = nil
            try journal.save(as: PauseRecord.fileName, in: stateDirectory)
            do {
                try CrontabUserLock.recordPause(of: user, in: stateDirectory.path)
            } catch {
                // The pause stands (its journal is saved); only a later refusal cannot name this state directory.
                logger.warning(
                    "cannot record which state directory paused the crontab",
                    metadata: ["user": "\(user)", "error": "\(error.summary)"]
                )
            }
            return journal
        }
        throw discardingJournal(
            WorkersError(.crontabChanging, "the crontab of \(user) kept changing; nothing was paused")
        )
    }

    /// The user's matching workers that are running, and how `stop` ended each.
    private func stopRunning(
        patterns: [WorkerPattern],
        account: UserAccount,
        stop: StopMode,
        scope: StopScope,
        grace: Duration,
        excluded: Set<Int32>,
        interrupted: @escaping @Sendable () -> Bool
    ) async -> (WorkerSelection, [StoppedWorker]) {
        var running = WorkerSelection(toStop: [], notStartedByCron: [])
        do {
            running = try ProcFileSystem.snapshot().workerSelection(
                matching: patterns,
                uid: account.uid,
                selfPID: getpid(),
                excludedRoots: excluded,
                scope: scope
            )
        } catch {
            logger.warning("\(error.summary): no running worker is stopped", metadata: ["user": "\(account.name)"])
        }
        let stopped = await WorkerStopper(logger: logger, interrupted: interrupted).stop(
            running.toStop,
            mode: stop,
            grace: grace
        )
        return (running, stopped)
    }

    private func runningWorkers(
        matching patterns: [WorkerPattern],
        uid: UInt32,
        excluding excluded: Set<Int32>
    ) throws(WorkersError) -> [ProcessEntry] {
        try ProcFileSystem.snapshot().workers(matching: patterns, uid: uid, selfPID: getpid(), excludedRoots: excluded)
    }

    /// The current pause, or the last one, and where each of its lines stands now.
    package struct Status: Sendable {
        /// The pause in force, if any.
        package let current: PauseRecord?
        /// Where each of its lines stands in the crontab now.
        package let lines: [CrontabPause.LineReport]
        /// The last resumed pause, when none is in force.
        package let last: PauseRecord?
    }

    /// Reads the journal and the crontab; changes nothing.
    package func status() async throws -> Status {
        guard let record = try PauseRecord.load(PauseRecord.fileName, from: stateDirectory) else {
            return Status(
                current: nil,
                lines: [],
                last: try PauseRecord.load(PauseRecord.lastFileName, from: stateDirectory)
            )
        }
        let text = try await Crontab(user: record.user).read()
        return Status(
            current: record,
            lines: CrontabPause.status(text, pauseID: record.pauseID, paused: record.pausedLines),
            last: nil
        )
    }

    func prepareStateDirectory() throws(WorkersError) {
        do {
            try stateDirectory.prepare()
        } catch {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        }
    }

    /// After a failed install of the paused text: the journal goes only when the crontab reads back
    /// as it was, since it is the only record of the old text. Otherwise it stays, in its `pausing`
    /// phase, for `resume` (or `recover`) to settle. Always throws.
    func abandonPause(of crontab: Crontab, before: [UInt8], failure: WorkersError) async throws(WorkersError)
        -> Never
    {
        let current: [UInt8]
        do {
            current = try await crontab.read()
        } catch {
            throw journalKept(failure, because: "the crontab cannot be read back (\(error.summary))")
        }
        guard current == before else { throw journalKept(failure, because: "the crontab does not read back as it was") }
        throw discardingJournal(failure)
    }

    /// `failure`, after the journal of a pause that changed nothing is removed; when it cannot be,
    /// the error says so, since that journal then stands in the way of the next pause.
    private func discardingJournal(_ failure: WorkersError) -> WorkersError {
        do {
            try stateDirectory.remove(PauseRecord.fileName)
            return failure
        } catch {
            return journalKept(failure, because: "its journal cannot be removed (\(error.summary))")
        }
    }

    private func journalKept(_ failure: WorkersError, because reason: String) -> WorkersError {
        WorkersError(
            failure.code,
            "\(failure.summary); \(reason), so the pause journal is kept",
            hint: "pgwarden workers resume --state-dir \(stateDirectory.path) settles it"
        )
    }

    func lockStateDirectory() throws(WorkersError) -> StateLock {
        do {
            return try stateDirectory.lock()
        } catch {
            throw WorkersError(.busy, error.summary, hint: error.hint)
        }
    }
}
