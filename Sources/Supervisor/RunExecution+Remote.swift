import FoundationEssentials
import WardenSupport
import Workers

/// Worker sets on other hosts (`host = "…"`): each paused and resumed by that host's pgwarden through ssh
/// (`pgwarden workers set …`), journaled there in its own state directory. The coordinator's journal names the
/// host and the pause id before each remote step, and what the host answered after it.
///
/// Up to `parallel_hosts` hosts are asked at once: each ssh call runs in a task of its own (``RemoteCall``), while
/// the run's task alone journals, logs and takes in the answers, one at a time, as they come.
extension RunExecution {
    /// One remote step in flight: what it asks of which host, and since when.
    struct RemoteCall: Sendable {
        let index: Int
        let host: String
        let runner: RemoteRunner
        let arguments: [String]
        /// The pause asked about, and the answers that confirm the call (``RemoteAnswer/confirm``).
        let pauseID: String
        let verb: String
        let accepting: Set<String>
        /// The step's name in the log and the report.
        let step: String
        let startedAt = Date()
    }

    /// What came of a ``RemoteCall``.
    struct RemoteAnswered: Sendable {
        let call: RemoteCall
        let result: Result<RemoteRunner.Outcome, WorkersError>
    }

    /// The id of set `index`'s remote pause: chosen before the host is asked, so that a coordinator killed before
    /// the answer came back still knows what to resume.
    func remotePauseID(_ index: Int) -> String { "\(runID)-w\(index + 1)" }

    /// The call asking `host` to pause set `index`: said in the log, not yet made.
    func remotePauseCall(_ index: Int, on host: String, step: String) throws -> RemoteCall {
        let id = remotePauseID(index)
        let json = String(decoding: try JournalCoding.encode(settings.effectiveWorkerSets[index]), as: UTF8.self)
        // Past the step timeout the coordinator gives up and resumes: a pause arriving later is refused there.
        let notAfter = Int(Date().timeIntervalSince1970 + settings.fleet.stepTimeout.seconds) + 1
        journal.update {
            guard let entries = $0.workerSets, index < entries.count else { return }
            $0.workerSets![index].notAfter = notAfter
        }
        log.say("\(step)…")
        log.say("  \(sets.names[index]): asking \(TerminalText.safe(host)) to pause it (pause \(id))")
        FailPoint.hit("upgrade.remote-pause-journaled-\(index + 1)")
        return RemoteCall(
            index: index,
            host: host,
            runner: settings.fleet.runner(host),
            arguments: ["workers", "set", "pause", "--pause-id", id, "--spec", json, "--not-after", String(notAfter)],
            pauseID: id,
            verb: "pause",
            accepting: ["paused", "already-paused"],
            step: step
        )
    }

    /// Takes in the host's answer to a pause: logged, journaled, recorded as the step.
    func remotePauseAnswered(_ answered: RemoteAnswered) -> WorkerSetsMachine.Event {
        let index = answered.call.index
        switch answered.result {
        case .success(let outcome):
            say(outcome, from: answered.call.host)
            journalAnswer(index, outcome.answer?.state ?? "?")
            FailPoint.hit("upgrade.remote-paused-\(index + 1)")
            record(answered.call, failure: nil)
            FailPoint.hit("upgrade.set-paused.\(index + 1)")
            return .paused(index)
        case .failure(let error):
            let reason = Supervisor.describe(error)
            journalAnswer(index, "failed: \(reason)")
            record(answered.call, failure: reason)
            return .pauseFailed(index, reason)
        }
    }

    /// The call asking `host` to resume set `index`: said in the log, not yet made.
    func remoteResumeCall(_ index: Int, on host: String, step: String) -> RemoteCall {
        log.say("\(step)…")
        return RemoteCall(
            index: index,
            host: host,
            runner: settings.fleet.runner(host),
            arguments: ["workers", "set", "resume", "--pause-id", remotePauseID(index)]
                + RemoteSet.deadlineArguments(journaledDeadline(index)),
            pauseID: remotePauseID(index),
            verb: "resume",
            accepting: RemoteSet.resumeAnswers,
            step: step
        )
    }

    /// Takes in the host's answer to a resume: logged, journaled, recorded as the step.
    func remoteResumeAnswered(_ answered: RemoteAnswered) -> WorkerSetsMachine.Event {
        let index = answered.call.index
        switch answered.result {
        case .success(let outcome):
            say(outcome, from: answered.call.host)
            let state = outcome.answer?.state ?? "?"
            if state == "not-paused" {
                log.say(
                    "  \(sets.names[index]): pause \(remotePauseID(index)) was not in force on \(TerminalText.safe(answered.call.host)) (resumed there already)"
                )
            } else if state == PauseTombstone.state {
                log.say(
                    "  \(sets.names[index]): pause \(remotePauseID(index)) had not reached \(TerminalText.safe(answered.call.host)): cancelled there, refused if it arrives"
                )
            }
            journalAnswer(index, state)
            record(answered.call, failure: nil)
            return .resumed(index)
        case .failure(let error):
            let reason = Supervisor.describe(error)
            journalAnswer(index, "failed: \(reason)")
            record(answered.call, failure: reason)
            return .resumeFailed(index, reason)
        }
    }

    /// The deadline journaled for set `index`'s remote pause, if it was asked.
    private func journaledDeadline(_ index: Int) -> Int? {
        guard let entries = journal.current.workerSets, index < entries.count else { return nil }
        return entries[index].notAfter
    }

    /// Records what the host of set `index` answered, in the coordinator's journal.
    func journalAnswer(_ index: Int, _ answer: String) {
        journal.update {
            guard let entries = $0.workerSets, index < entries.count else { return }
            $0.workerSets![index].answer = answer
        }
    }

    private func say(_ outcome: RemoteRunner.Outcome, from host: String) {
        outcome.lines.forEach { log.say("    \(TerminalText.safe(host)): \(Redaction.redact($0))") }
    }

    /// The call's step in the report, as ``Supervisor/step(_:_:log:_:)`` records one.
    private func record(_ call: RemoteCall, failure: String?) {
        var step = RunReport.Step(name: call.step, startedAt: call.startedAt, ok: failure == nil)
        step.finishedAt = Date()
        step.detail = failure
        report.steps.append(step)
    }

    /// Set `index`'s journal entry: its host and pause id when it runs elsewhere, the last answer kept.
    func journalEntry(_ index: Int, previous: RunJournal.WorkerSetEntry?) -> RunJournal.WorkerSetEntry {
        guard let host = settings.fleet.host(ofSet: index) else {
            return RunJournal.WorkerSetEntry(
                name: sets.names[index],
                directory: setDirectory(index).path,
                state: sets.states[index]
            )
        }
        var entry = RunJournal.WorkerSetEntry(name: sets.names[index], directory: "", state: sets.states[index])
        entry.host = host
        entry.pauseID = remotePauseID(index)
        entry.answer = previous?.answer
        entry.notAfter = previous?.notAfter
        entry.sshConfig = settings.fleet.sshConfig
        entry.program = settings.fleet.program
        return entry
    }
}

extension RunExecution.RemoteCall {
    /// Asks the host once; a step the host does not confirm for this pause is a failure.
    private func confirmed() async throws(WorkersError) -> RemoteRunner.Outcome {
        try await runner.run(arguments, confirming: pauseID, step: verb, accepting: accepting)
    }

    /// Asks the host once.
    func pause() async -> RunExecution.RemoteAnswered {
        do {
            return .init(call: self, result: .success(try await confirmed()))
        } catch {
            return .init(call: self, result: .failure(error))
        }
    }

    /// Asks the host to resume; an unreachable host is retried with backoff for `retryFor`, each retry said.
    func resume(retryFor: Duration, log: RunLog) async -> RunExecution.RemoteAnswered {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: retryFor)
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(8))
        while true {
            do {
                FailPoint.hit("upgrade.remote-resume-journaled-\(index + 1)")
                return .init(call: self, result: .success(try await confirmed()))
            } catch {
                let wait = backoff.next()
                guard error.code == .hostUnreachable, clock.now.advanced(by: wait) < deadline else {
                    return .init(call: self, result: .failure(error))
                }
                log.warn(
                    "\(Supervisor.describe(error)); trying again in \(DurationSyntax.format(seconds: wait.seconds))"
                )
                try? await Task.sleep(for: wait)
            }
        }
    }
}
