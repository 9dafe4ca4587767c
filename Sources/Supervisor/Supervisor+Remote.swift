import FoundationEssentials
import WardenSupport
import Workers

/// Preflight of a worker set on another host: the host is reached, runs a pgwarden of the same minor version,
/// and says what pausing the set would do there (an error when the set does not exist there). Changes nothing.
extension Supervisor {
    func planRemote(_ spec: WorkerSetSpec, on host: String) async throws -> [String] {
        let runner = settings.fleet.runner(host)
        if !settings.fleet.localVersion.isEmpty {
            try await runner.checkVersion(localVersion: settings.fleet.localVersion)
        }
        let json = String(decoding: try JournalCoding.encode(spec), as: UTF8.self)
        // The plan's id names no pause: nothing is journaled by a plan.
        let outcome = try await runner.run(["workers", "set", "plan", "--pause-id", "0-plan", "--spec", json])
        return ["on \(TerminalText.safe(host)) (pgwarden there, through ssh):"]
            + (outcome.answer?.said ?? outcome.lines).map { "  " + TerminalText.safe($0) }
    }
}
