import FoundationEssentials
import WardenSupport
import Workers

/// `recover` on the coordinator: every worker set the journal says a host paused (or was asked to) is resumed by
/// that host's pgwarden, through ssh, begun in reverse order, several hosts at once (said in reverse order). A host
/// that answers `not-paused` was resumed already (by `pgwarden recover` there, say): recognised, not resumed twice.
/// One that answers `cancelled` had not received its pause yet: it keeps a tombstone, and refuses the pause if it comes.
/// An unreachable host is named and its entry kept, so that `recover` can be run again until every host is back.
extension Recovery {
    func resumeRemoteSets(_ current: inout RunJournal?) async -> (lines: [String], failed: Bool) {
        // A run that ended with a host unreachable at resume has left its journal as the last run's.
        var journal = current ?? (try? RunJournal.load(RunJournal.lastFileName, from: stateDirectory)) ?? nil
        let file = current == nil ? RunJournal.lastFileName : RunJournal.fileName
        defer { if current != nil { current = journal } }
        guard let entries = journal?.workerSets else { return ([], false) }
        var lines: [String] = []
        var failed = false
        let answers = await Self.askHosts(entries)
        for index in entries.indices.reversed() {
            guard let answer = answers[index], let host = entries[index].host, let id = entries[index].pauseID else {
                continue
            }
            let name = entries[index].name
            switch answer {
            case .success(let outcome):
                let state = outcome.answer?.state ?? "?"
                lines.append(
                    state == "not-paused"
                        ? "\(name) on \(TerminalText.safe(host)): pause \(id) was resumed there already"
                        : state == PauseTombstone.state
                            ? "\(name) on \(TerminalText.safe(host)): pause \(id) had not arrived there: cancelled, refused if it does"
                            : "\(name) on \(TerminalText.safe(host)): resumed (pause \(id))"
                )
                lines += (outcome.answer?.said ?? []).map { "  \(TerminalText.safe(host)): \(TerminalText.safe($0))" }
                journal?.workerSets?[index].state = .resumed
                journal?.workerSets?[index].answer = state
            case .failure(let error):
                failed = true
                journal?.workerSets?[index].answer = "failed: \(Supervisor.describe(error))"
                lines.append(
                    "error: \(name) on \(TerminalText.safe(host)) was not resumed: \(Supervisor.describe(error))"
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

    /// Asks each host whose set may still be paused to resume it, up to ``FleetSettings/parallelHosts`` (its
    /// default) at once, begun in reverse order; each answer by the set's index.
    static func askHosts(
        _ entries: [RunJournal.WorkerSetEntry]
    ) async -> [Int: Result<RemoteRunner.Outcome, WorkersError>] {
        let calls: [(index: Int, runner: RemoteRunner, id: String)] = entries.indices.reversed().compactMap { index in
            let entry = entries[index]
            guard let host = entry.host, let id = entry.pauseID, ![.pending, .resumed].contains(entry.state) else {
                return nil
            }
            let command = RemoteCommand(
                destination: host,
                sshConfig: entry.sshConfig,
                program: entry.program ?? "pgwarden"
            )
            return (index, RemoteRunner(command), id)
        }
        return await withTaskGroup(of: (Int, Result<RemoteRunner.Outcome, WorkersError>).self) { group in
            var answers: [Int: Result<RemoteRunner.Outcome, WorkersError>] = [:]
            var started = 0
            while true {
                while started - answers.count < FleetSettings().parallelHosts, started < calls.count {
                    let (index, runner, id) = calls[started]
                    let deadline = RemoteSet.deadlineArguments(entries[index].notAfter)
                    started += 1
                    group.addTask {
                        do throws(WorkersError) {
                            return (
                                index,
                                .success(
                                    try await runner.run(
                                        ["workers", "set", "resume", "--pause-id", id] + deadline,
                                        confirming: id,
                                        step: "resume",
                                        accepting: RemoteSet.resumeAnswers
                                    )
                                )
                            )
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                guard let answered = await group.next() else { return answers }
                answers[answered.0] = answered.1
            }
        }
    }
}
