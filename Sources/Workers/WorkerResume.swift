import FoundationEssentials
import WardenSupport

/// `resume`: uncommenting exactly what a pause commented, and finishing an install that was cut short.
extension WorkerPause {
    /// What a resume did.
    package enum ResumeOutcome: Sendable {
        /// Nothing was paused (or, with an owner given, nothing of that owner's).
        case nothingPaused
        /// The pause never reached the crontab (interrupted before it was installed); the journal is cleared.
        case neverInstalled(PauseRecord, repaired: InterruptedInstall?)
        /// The crontab is restored; each line says what became of it.
        case resumed(Resumed)
    }

    /// A crontab restored.
    package struct Resumed: Sendable {
        /// The pause.
        package let record: PauseRecord
        /// Each paused line and what became of it.
        package let lines: [CrontabPause.LineReport]
        /// Whether the crontab is now byte for byte what it was before the pause.
        package let restoredExactly: Bool
        /// pgwarden's own install found cut short and completed first, if so.
        package let repaired: InterruptedInstall?
        /// Journal writes that failed (a full disk): the crontab is restored all the same.
        package let writeFailures: [String]
    }

    /// pgwarden's own crontab install that was cut short (the crontab found empty, or a start of
    /// what was being installed), and was completed from the journal.
    package struct InterruptedInstall: Sendable, Equatable {
        /// The size of the crontab found.
        package let foundBytes: Int
        /// The size of the crontab the journal says was being installed.
        package let journaledBytes: Int

        /// For people.
        package var description: String {
            "pgwarden's own install of the crontab was interrupted (found \(foundBytes) of \(journaledBytes) bytes): completed it from the journal"
        }
    }

    /// Uncomments exactly the lines the recorded pause commented, keeping every other edit.
    ///
    /// A journal write that fails (a full disk) does not stop the crontab from being restored:
    /// it is reported in ``Resumed/writeFailures``.
    ///
    /// - Parameters:
    ///   - owner: resume only a pause of this owner (an upgrade resumes its own pause, never an operator's).
    ///   - remembered: the pause as its maker kept it in memory: resumed when its journal is gone (the state
    ///     directory removed under a run), and journaled again here first.
    package func resume(ownedBy owner: String? = nil, remembered: PauseRecord? = nil) async throws -> ResumeOutcome {
        try prepareStateDirectory()
        let lock = try lockStateDirectory()
        defer { lock.release() }
        guard var record = try PauseRecord.load(PauseRecord.fileName, from: stateDirectory) ?? remembered,
            owner == nil || record.owner == owner
        else { return .nothingPaused }
        let userLock = try CrontabUserLock(user: record.user)
        defer { userLock.release() }
        let crontab = Crontab(user: record.user)
        var current = try await crontab.read()
        var failures: [String] = []
        var repaired: InterruptedInstall?
        if let installing = record.installing, current != installing, installing.starts(with: current) {
            repaired = InterruptedInstall(foundBytes: current.count, journaledBytes: installing.count)
            logger.warning("\(repaired!.description)", metadata: ["user": "\(record.user)"])
            try await crontab.install(installing, stagingIn: stateDirectory, holding: userLock, logger: logger)
            current = installing
        }
        if record.phase == .pausing, !CrontabPause.pauseIDs(in: current).contains(record.pauseID) {
            archive(&record, failures: &failures)
            return .neverInstalled(record, repaired: repaired)
        }
        record.phase = .resuming
        save(record, failures: &failures)
        for _ in 0..<Self.compareAndSwapAttempts {
            let resumed = CrontabPause.resume(current, pauseID: record.pauseID, paused: record.pausedLines)
            if resumed.text != current {
                let latest = try await crontab.read()
                guard latest == current else {
                    current = latest
                    continue
                }
                record.installing = resumed.text
                save(record, failures: &failures)
                try await crontab.install(resumed.text, stagingIn: stateDirectory, holding: userLock, logger: logger)
            }
            FailPoint.hit("workers.resume.installed")
            archive(&record, failures: &failures)
            logger.info("resumed crontab lines", metadata: ["user": "\(record.user)"])
            return .resumed(
                Resumed(
                    record: record,
                    lines: resumed.lines,
                    restoredExactly: resumed.text == record.crontabBefore,
                    repaired: repaired,
                    writeFailures: failures
                )
            )
        }
        throw WorkersError(.crontabChanging, "the crontab of \(record.user) kept changing; it is still paused")
    }

    /// Whether the state directory holds a pause journal (readable).
    package var hasJournal: Bool {
        (try? PauseRecord.load(PauseRecord.fileName, from: stateDirectory)) != nil
    }

    /// Whether the state directory holds the journal of pause `pauseID` (not another pause's).
    package func hasJournal(of pauseID: String) -> Bool {
        (try? PauseRecord.load(PauseRecord.fileName, from: stateDirectory))?.pauseID == pauseID
    }

    /// Where a run whose state directory was lost journals the resume of the pause it remembers.
    package static func rescueDirectory(for runID: String) -> StateDirectory {
        StateDirectory(path: CrontabUserLock.directory + "/rescue-\(runID)")
    }

    /// One pause per crontab, whatever the state directory: markers of another pause mean it is still in force.
    func refuseAnotherPause(in text: [UInt8], of user: String) throws(WorkersError) {
        guard let other = CrontabPause.pauseIDs(in: text).sorted().first else { return }
        let directory = CrontabUserLock.lastPause(of: user)
        throw WorkersError(
            .alreadyPaused,
            "the crontab of \(user) already holds lines paused by pause \(other)"
                + (directory.map { " (state directory \($0))" } ?? ""),
            hint: "one pause per crontab at a time: resume that one first (pgwarden workers resume"
                + (directory.map { " --state-dir \($0))" } ?? ")")
        )
    }

    private func save(_ record: PauseRecord, failures: inout [String]) {
        do {
            try record.save(as: PauseRecord.fileName, in: stateDirectory)
        } catch {
            failures.append(error.summary)
        }
    }

    /// Keeps the record as the last pause and removes the current one; removing needs no space, so
    /// even on a full disk no stale journal is left to resume twice.
    private func archive(_ record: inout PauseRecord, failures: inout [String]) {
        record.phase = .resumed
        record.resumedAt = now()
        record.installing = nil
        do {
            try record.save(as: PauseRecord.lastFileName, in: stateDirectory)
        } catch {
            failures.append(error.summary)
        }
        do {
            try stateDirectory.remove(PauseRecord.fileName)
        } catch {
            failures.append(error.summary)
        }
    }
}
