import FoundationEssentials
import WardenSupport
import Workers

/// `recover` on the coordinator: every worker set the journal says a host paused (or was asked to) is resumed by
/// that host's pgwarden, through ssh, in reverse order. A host that answers `not-paused` was resumed already (by
/// `pgwarden recover` there, say): recognised, not resumed twice. An unreachable host is named and its entry kept,
/// so that `recover` can be run again until every host is back.
extension Recovery {
    func resumeRemoteSets(_ current: inout RunJournal?) async -> (lines: [String], failed: Bool) {
        // A run that ended with a host unreachable at resume has left its journal as the last run's.
        var journal = current ?? (try? RunJournal.load(RunJournal.lastFileName, from: stateDirectory)) ?? nil
        let file = current == nil ? RunJournal.lastFileName : RunJournal.fileName
        defer { if current != nil { current = journal } }
        guard let entries = journal?.workerSets else { return ([], false) }
        var lines: [String] = []
        var failed = false
        for index in entries.indices.reversed() {
            let entry = entries[index]
            guard let host = entry.host, let id = entry.pauseID, ![.pending, .resumed].contains(entry.state) else {
                continue
            }
            let runner = RemoteRunner(
                RemoteCommand(destination: host, sshConfig: entry.sshConfig, program: entry.program ?? "pgwarden")
            )
            do {
                let outcome = try await runner.run(["workers", "set", "resume", "--pause-id", id])
                let state = try RemoteAnswer.confirm(
                    outcome.answer,
                    pause: id,
                    step: "resume",
                    host: host,
                    accepting: ["resumed", "not-paused"]
                )
                lines.append(
                    state == "not-paused"
                        ? "\(entry.name) on \(TerminalText.safe(host)): pause \(id) was resumed there already"
                        : "\(entry.name) on \(TerminalText.safe(host)): resumed (pause \(id))"
                )
                lines += (outcome.answer?.said ?? []).map { "  \(TerminalText.safe(host)): \(TerminalText.safe($0))" }
                journal?.workerSets?[index].state = .resumed
                journal?.workerSets?[index].answer = state
            } catch {
                failed = true
                journal?.workerSets?[index].answer = "failed: \(Supervisor.describe(error))"
                lines.append(
                    "error: \(entry.name) on \(TerminalText.safe(host)) was not resumed: \(Supervisor.describe(error))"
                )
            }
        }
        if failed || current == nil, let journal {
            // What each host answered is what the next recover starts from: a journal not written is said, and the
            // run is not called recovered.
            do {
                try journal.save(as: file, in: stateDirectory)
            } catch {
                failed = true
                lines.append(
                    "error: the journal \(stateDirectory.path)/\(file) was not updated with the hosts' answers: "
                        + Supervisor.describe(error)
                )
            }
        }
        return (lines, failed)
    }
}
