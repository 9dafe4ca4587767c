import FoundationEssentials
import WardenSupport
import Workers

/// The run's worker sets: each paused in order (hosts up to `parallel_hosts` at once), all or nothing, and resumed
/// in reverse on every path, as ``WorkerSetsMachine`` decides; the run journal names each set and where it stands before each change.
/// The first crontab set is journaled in the state directory itself (as before deployment files); each other
/// set in a directory of its own, where `recover` finds it.
extension RunExecution {
    /// `workers[2] (supervisor app-worker:*)`.
    static func setName(_ index: Int, _ spec: WorkerSetSpec) -> String {
        "workers[\(index + 1)] (\(spec.summary))"
    }

    /// The directory of set `index`'s own journal.
    func setDirectory(_ index: Int) -> StateDirectory {
        index == primarySet
            ? supervisor.stateDirectory
            : WorkerSetPause.directory(
                under: supervisor.stateDirectory,
                index: index,
                kind: settings.effectiveWorkerSets[index].kind
            )
    }

    /// The step's name in the log and the report: `pause workers` alone, as before, with one set.
    private func stepName(_ verb: String, _ index: Int) -> String {
        sets.names.count == 1 ? "\(verb) workers" : "\(verb) \(sets.names[index])"
    }

    /// Writes every set's state to the run journal.
    private func journalSets() {
        journal.update { journal in
            let previous = journal.workerSets ?? []
            journal.workerSets = sets.names.indices.map {
                journalEntry($0, previous: $0 < previous.count ? previous[$0] : nil)
            }
        }
    }

    /// Pauses every set in order, all or nothing; hosts up to `parallel_hosts` at once, as ``WorkerSetsMachine``
    /// decides. After a failure, the pauses still in flight are waited for: each that succeeded is resumed too.
    func pauseWorkers() async -> RunMachine.Event {
        await withTaskGroup(of: RemoteAnswered.self) { group in
            while true {
                let action = sets.next()
                switch action {
                case .pause(let index):
                    if state.isInterrupted {
                        sets.receive(.pauseFailed(index, "interrupted before its pause"))
                        continue
                    }
                    sets.begin(action)
                    journalSets()
                    if let host = settings.fleet.host(ofSet: index) {
                        do {
                            let call = try remotePauseCall(index, on: host, step: stepName("pause", index))
                            group.addTask { await call.pause() }
                            continue
                        } catch {
                            sets.receive(.pauseFailed(index, Supervisor.describe(error)))
                        }
                    } else {
                        sets.receive(await pauseSet(index))
                    }
                    journalSets()
                case .wait:
                    guard let answered = await group.next() else {
                        return .pauseFailed("the worker sets waited for a host with none asked")
                    }
                    sets.receive(remotePauseAnswered(answered))
                    journalSets()
                case .paused:
                    journal.update {
                        $0.workersPaused = true
                        $0.phase = .workersPaused
                    }
                    FailPoint.hit("upgrade.workers-paused")
                    return .paused
                case .pauseFailed(let failure):
                    journal.update { $0.workersPaused = true }
                    let reason = sets.names.count == 1 ? failure.reason : sets.describe(failure, pausing: true)
                    log.error("cannot pause the workers: \(reason); the migration is not run")
                    return .pauseFailed(sets.describe(failure, pausing: true))
                case .resume, .resumed:
                    return .pauseFailed("the workers were not paused")
                }
            }
        }
    }

    /// Pauses set `index`, here.
    private func pauseSet(_ index: Int) async -> WorkerSetsMachine.Event {
        do {
            try await Supervisor.step(stepName("pause", index), &report, log: log) {
                if index == primarySet {
                    try await pausePrimary()
                } else {
                    let said = try await WorkerSetPause(directory: setDirectory(index), logger: logger).pause(
                        settings.effectiveWorkerSets[index],
                        owner: owner
                    )
                    said.forEach { log.say("  \(sets.names[index]): \($0)") }
                }
            }
            FailPoint.hit("upgrade.set-paused.\(index + 1)")
            return .paused(index)
        } catch {
            return .pauseFailed(index, Supervisor.describe(error))
        }
    }

    /// The first crontab set, as before deployment files: journaled in the state directory, kept in memory.
    private func pausePrimary() async throws {
        let outcome = try await workerPause().pause(
            user: preflight.crontabUser,
            patterns: try settings.pausePatterns.map(WorkerPattern.init),
            stop: settings.stopWorkers,
            scope: settings.stopScope,
            grace: settings.grace,
            owner: owner,
            stopInterrupted: { [state] in state.isInterrupted }
        )
        pause = outcome.record
        sayPaused(outcome)
    }

    private func sayPaused(_ outcome: WorkerPause.PauseOutcome) {
        log.say(
            "paused \(Plural.count(outcome.record.pausedLines.count, "crontab line", "crontab lines")) of \(preflight.crontabUser)"
        )
        for process in outcome.notStartedByCron {
            log.say(
                "  pid \(process.pid) matching, not started by cron: left running: \(Redaction.redact(process.commandLine))"
            )
        }
        for worker in outcome.stopped {
            log.say(
                "  worker pid \(worker.process.pid) \(worker.outcome.description): \(Redaction.redact(worker.process.commandLine))"
            )
        }
    }

    /// Always: every set whose pause was begun comes back, in reverse order (hosts up to `parallel_hosts` at
    /// once), each tried whatever became of the others.
    func resumeWorkers() async -> RunMachine.Event {
        journal.update { $0.phase = .finishing }
        FailPoint.hit("upgrade.before-resume")
        sets.beginResume()
        await withTaskGroup(of: RemoteAnswered.self) { group in
            while true {
                switch sets.next() {
                case .resume(let index):
                    sets.begin(.resume(index))
                    journalSets()
                    if let host = settings.fleet.host(ofSet: index) {
                        let call = remoteResumeCall(index, on: host, step: stepName("resume", index))
                        group.addTask { [log, retry = settings.fleet.resumeRetryFor] in
                            await call.resume(retryFor: retry, log: log)
                        }
                        continue
                    }
                    sets.receive(await resumeSet(index))
                    journalSets()
                    FailPoint.hit("upgrade.set-resumed.\(index + 1)")
                case .wait:
                    guard let answered = await group.next() else { return }
                    sets.receive(remoteResumeAnswered(answered))
                    journalSets()
                    FailPoint.hit("upgrade.set-resumed.\(answered.call.index + 1)")
                default: return
                }
            }
        }
        guard case .resumed(let failures) = sets.next(), !failures.isEmpty else {
            journal.update { $0.workersPaused = false }
            return .resumed
        }
        let directory = ShellQuoting.quote(supervisor.stateDirectory.path)
        let single = sets.names.count == 1
        let said = failures.map { single ? $0.reason : sets.describe($0, pausing: false) }
        log.warn(
            "cannot resume the workers: \(said.joined(separator: "; ")); run pgwarden recover --state-dir \(directory)"
        )
        return .resumeFailed(failures.map { sets.describe($0, pausing: false) }.joined(separator: "; "))
    }

    /// Resumes set `index`, here.
    private func resumeSet(_ index: Int) async -> WorkerSetsMachine.Event {
        do {
            // The step holds the report for writing while its body runs: the drift is added after it.
            let drift: [String] = try await Supervisor.step(stepName("resume", index), &report, log: log) {
                if index == primarySet { return try await resumeFromJournalOrMemory() }
                let said = try await WorkerSetPause(directory: setDirectory(index), logger: logger).resume(owner: owner)
                (said ?? ["nothing was paused"]).forEach { log.say("  \(sets.names[index]): \($0)") }
                return []
            }
            drift.forEach(log.warn)
            report.warnings += drift
            return .resumed(index)
        } catch {
            return .resumeFailed(index, Supervisor.describe(error))
        }
    }
}
