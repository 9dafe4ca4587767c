import FoundationEssentials
import Logging
import WardenSupport

/// A worker set paused on this host at another host's request (`pgwarden workers set …` through ssh): kept in
/// this host's own state directory, under `sets/<pause id>`, so that this host's `pgwarden recover` resumes it too,
/// and its answer is a ``RemoteAnswer``. Re-asking is harmless: a pause already in force answers `already-paused`,
/// a resume of a pause already resumed (by this host's own `recover`, say) answers `not-paused`, and one of a pause
/// never made here answers `cancelled` (``PauseTombstone``).
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
    /// it, over a slow link, must not pause anything: the coordinator has already resumed, or will not), and refused
    /// when a resume of it came first (``PauseTombstone``). Holds the pause's lock throughout, so that a resume of it
    /// never runs while it is being made.
    package func pause(_ spec: WorkerSetSpec, id: String, owner: String, notAfter: Date? = nil) async throws
        -> RemoteAnswer
    {
        let held = try lock(id)
        defer { held.release() }
        let decision = RemoteSetDecision.pause(
            paused: try isPaused(id),
            tombstone: try tombstone(id),
            notAfter: notAfter,
            now: Date()
        )
        switch decision {
        case .refuseLate:
            throw WorkersError(
                .workerSet,
                "pause \(id) arrived after its deadline (\(notAfter?.formatted(.iso8601) ?? "?")): the coordinator gave up on it; nothing paused"
            )
        case .refuseCancelled:
            throw WorkersError(
                .workerSet,
                "pause \(id) was resumed by recover before it arrived: refused; nothing paused"
            )
        case .alreadyPaused:
            return RemoteAnswer(pauseID: id, state: "already-paused", said: ["pause \(id) is in force already"])
        default:
            let said = try await WorkerSetPause(directory: try directory(id), logger: logger).pause(spec, owner: owner)
            return RemoteAnswer(pauseID: id, state: "paused", said: said)
        }
    }

    /// Resumes pause `id`, if it is in force. One never made here is cancelled: a tombstone, durable before the
    /// answer, makes the pause refused if it arrives later; kept until `notAfter` (the pause's deadline) has passed.
    package func resume(_ id: String, notAfter: Date? = nil) async throws -> RemoteAnswer {
        let held = try lock(id)
        defer { held.release() }
        let existing = try tombstone(id)
        switch RemoteSetDecision.resume(paused: try isPaused(id), made: try wasMade(id), tombstone: existing) {
        case .resumedAlready:
            return RemoteAnswer(
                pauseID: id,
                state: "not-paused",
                said: ["pause \(id) is not in force (resumed already)"]
            )
        case .cancel:
            if existing == nil {
                try saveTombstone(PauseTombstone(pauseID: id, madeAt: Date(), notAfter: notAfter))
                pruneTombstones(now: Date())
            }
            return RemoteAnswer(
                pauseID: id,
                state: PauseTombstone.state,
                said: ["pause \(id) was never made here: cancelled, so that it is refused if it arrives later"]
            )
        default:
            let said = try await WorkerSetPause(directory: try directory(id), logger: logger).resume()
            return RemoteAnswer(pauseID: id, state: "resumed", said: said ?? [])
        }
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
