import FoundationEssentials
import WardenSupport
import Workers

/// Worker sets on other hosts (`host = "…"`): each paused and resumed by that host's pgwarden through ssh
/// (`pgwarden workers set …`), journaled there in its own state directory. The coordinator's journal names the
/// host and the pause id before each remote step, and what the host answered after it.
extension RunExecution {
    /// The id of set `index`'s remote pause: chosen before the host is asked, so that a coordinator killed before
    /// the answer came back still knows what to resume.
    func remotePauseID(_ index: Int) -> String { "\(runID)-w\(index + 1)" }

    /// Asks `host` to pause set `index`.
    func pauseRemote(_ index: Int, on host: String) async throws {
        let id = remotePauseID(index)
        let json = String(decoding: try JournalCoding.encode(settings.effectiveWorkerSets[index]), as: UTF8.self)
        // Past the step timeout the coordinator gives up and resumes: a pause arriving later is refused there.
        let notAfter = String(Int(Date().timeIntervalSince1970 + settings.fleet.stepTimeout.seconds) + 1)
        log.say("  \(sets.names[index]): asking \(TerminalText.safe(host)) to pause it (pause \(id))")
        FailPoint.hit("upgrade.remote-pause-journaled-\(index + 1)")
        do {
            let outcome = try await settings.fleet.runner(host).run(
                ["workers", "set", "pause", "--pause-id", id, "--spec", json, "--not-after", notAfter]
            )
            outcome.lines.forEach { log.say("    \(TerminalText.safe(host)): \(Redaction.redact($0))") }
            let state = try RemoteAnswer.confirm(
                outcome.answer,
                pause: id,
                step: "pause",
                host: host,
                accepting: ["paused", "already-paused"]
            )
            journalAnswer(index, state)
            FailPoint.hit("upgrade.remote-paused-\(index + 1)")
        } catch {
            journalAnswer(index, "failed: \(Supervisor.describe(error))")
            throw error
        }
    }

    /// Asks `host` to resume set `index`; an unreachable host is retried with backoff for
    /// ``FleetSettings/resumeRetryFor``, then named.
    func resumeRemote(_ index: Int, on host: String) async throws {
        let id = remotePauseID(index)
        let runner = settings.fleet.runner(host)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: settings.fleet.resumeRetryFor)
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(8))
        while true {
            do {
                FailPoint.hit("upgrade.remote-resume-journaled-\(index + 1)")
                let outcome = try await runner.run(["workers", "set", "resume", "--pause-id", id])
                outcome.lines.forEach { log.say("    \(TerminalText.safe(host)): \(Redaction.redact($0))") }
                let state = try RemoteAnswer.confirm(
                    outcome.answer,
                    pause: id,
                    step: "resume",
                    host: host,
                    accepting: ["resumed", "not-paused"]
                )
                if state == "not-paused" {
                    log.say(
                        "  \(sets.names[index]): pause \(id) was not in force on \(TerminalText.safe(host)) (resumed there already)"
                    )
                }
                journalAnswer(index, state)
                return
            } catch {
                let wait = backoff.next()
                let unreachable = (error as? WorkersError)?.code == .hostUnreachable
                guard unreachable, clock.now.advanced(by: wait) < deadline else {
                    journalAnswer(index, "failed: \(Supervisor.describe(error))")
                    throw error
                }
                log.warn(
                    "\(Supervisor.describe(error)); trying again in \(DurationSyntax.format(seconds: wait.seconds))"
                )
                try? await Task.sleep(for: wait)
            }
        }
    }

    /// Records what the host of set `index` answered, in the coordinator's journal.
    func journalAnswer(_ index: Int, _ answer: String) {
        journal.update {
            guard let entries = $0.workerSets, index < entries.count else { return }
            $0.workerSets![index].answer = answer
        }
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
        entry.sshConfig = settings.fleet.sshConfig
        entry.program = settings.fleet.program
        return entry
    }
}
