import FoundationEssentials
import WardenSupport
import Workers

extension Recovery {
    /// What a finished run left paused, as `status` lines ending in the way out, or `nil` when nothing is: the
    /// flags' crontab pause and the local sets as their journals on disk say (a later `recover` has cleared them), a
    /// host's set as the run journal says (`recover` updates it with each host's answer).
    func leftPaused(by last: RunJournal) throws -> [String]? {
        var lines: [String] = []
        if FileManager.default.fileExists(atPath: stateDirectory.path + "/" + PauseRecord.fileName) {
            lines.append("  workers: still paused (\(stateDirectory.path)/\(PauseRecord.fileName))")
        }
        let local = Set(try WorkerSetPause.pausedSetNames(under: stateDirectory))
        for set in last.workerSets ?? [] {
            let name = String(set.directory.split(separator: "/").last ?? "")
            let paused =
                set.host == nil ? local.contains(name) : ![.pending, .resumed].contains(set.state)
            if paused { lines.append(Self.line(set)) }
        }
        guard !lines.isEmpty else { return nil }
        return lines + ["  still paused after the run: run pgwarden recover\(option)"]
    }

    /// A set's `status` line: its state, and for a host's set the host, the pause id and its last answer.
    static func line(_ set: RunJournal.WorkerSetEntry) -> String {
        let host = set.host.map {
            " on \(TerminalText.safe($0)) (pause \(set.pauseID ?? "?"), answered \(set.answer ?? "nothing yet"))"
        }
        return "  \(set.name): \(set.state.rawValue)\(host ?? "")"
    }
}
