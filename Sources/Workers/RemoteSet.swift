import FoundationEssentials
import Logging
import WardenSupport

/// A worker set paused on this host at another host's request (`pgwarden workers set …` through ssh): kept in
/// this host's own state directory, under `sets/<pause id>`, so that this host's `pgwarden recover` resumes it too,
/// and its answer is a ``RemoteAnswer``. Re-asking is harmless: a pause already in force answers `already-paused`,
/// a resume of a pause already resumed (by this host's own `recover`, say) answers `not-paused`.
package struct RemoteSet: Sendable {
    package let stateDirectory: StateDirectory
    let logger: Logger

    package init(stateDirectory: StateDirectory, logger: Logger) {
        self.stateDirectory = stateDirectory
        self.logger = logger
    }

    /// The directory of pause `id`.
    package func directory(_ id: String) throws(WorkersError) -> StateDirectory {
        guard RemoteAnswer.isValidPauseID(id) else {
            throw WorkersError(
                .workerSet,
                "'\(TerminalText.safe(id))' is not a pause id (a digit, then letters, digits and -)"
            )
        }
        return StateDirectory(path: stateDirectory.path + "/sets/" + id)
    }

    /// Whether pause `id` is in force (journaled, not resumed).
    package func isPaused(_ id: String) throws(WorkersError) -> Bool {
        let path = try directory(id).path
        return [PauseRecord.fileName, SetPauseRecord.fileName].contains {
            FileManager.default.fileExists(atPath: path + "/" + $0)
        }
    }

    /// Pauses `spec` as pause `id`; refused after `notAfter` (a request that arrives after the coordinator gave up on
    /// it, over a slow link, must not pause anything: the coordinator has already resumed, or will not).
    package func pause(_ spec: WorkerSetSpec, id: String, owner: String, notAfter: Date? = nil) async throws
        -> RemoteAnswer
    {
        if let notAfter, Date() > notAfter {
            throw WorkersError(
                .workerSet,
                "pause \(id) arrived after its deadline (\(notAfter.formatted(.iso8601))): the coordinator gave up on it; nothing paused"
            )
        }
        if try isPaused(id) {
            return RemoteAnswer(pauseID: id, state: "already-paused", said: ["pause \(id) is in force already"])
        }
        let said = try await WorkerSetPause(directory: try directory(id), logger: logger).pause(spec, owner: owner)
        return RemoteAnswer(pauseID: id, state: "paused", said: said)
    }

    /// Resumes pause `id`, if it is still in force.
    package func resume(_ id: String) async throws -> RemoteAnswer {
        guard try isPaused(id) else {
            return RemoteAnswer(
                pauseID: id,
                state: "not-paused",
                said: ["pause \(id) is not in force (resumed already, or never made)"]
            )
        }
        let said = try await WorkerSetPause(directory: try directory(id), logger: logger).resume()
        return RemoteAnswer(pauseID: id, state: "resumed", said: said ?? [])
    }

    /// Whether pause `id` is in force.
    package func status(_ id: String) throws(WorkersError) -> RemoteAnswer {
        let paused = try isPaused(id)
        return RemoteAnswer(pauseID: id, state: paused ? "paused" : "not-paused", said: [])
    }

    /// What pausing `spec` would do here; throws when it cannot be paused (its set missing). Changes nothing.
    package func plan(_ spec: WorkerSetSpec, id: String) async throws -> RemoteAnswer {
        let said = try await WorkerSetPause(directory: try directory(id), logger: logger).plan(spec)
        return RemoteAnswer(pauseID: id, state: "planned", said: said)
    }
}
