import FoundationEssentials
import WardenSupport

/// The journal of a `supervisor` or `command` set's pause, in the set's own directory: written before each
/// change, so that `recover` can finish what a killed run began.
package struct SetPauseRecord: Codable, Sendable, Equatable {
    /// Where the pause stands.
    package enum Phase: String, Codable, Sendable {
        /// Journaled; the change may or may not have begun.
        case pausing
        /// Paused.
        case paused
        /// A resume has begun.
        case resuming
        /// Resumed: kept only as the last pause.
        case resumed
    }

    package var spec: WorkerSetSpec
    package var phase: Phase
    /// A supervisor set's programs that were running (or starting) before the pause: those started again.
    package var running: [String] = []
    package var pausedAt: Date
    package var resumedAt: Date?
    /// Who paused.
    package var owner: String

    package init(spec: WorkerSetSpec, phase: Phase, pausedAt: Date, owner: String) {
        self.spec = spec
        self.phase = phase
        self.pausedAt = pausedAt
        self.owner = owner
    }

    /// The journal of the pause in force.
    package static let fileName = "set-pause.json"
    /// The last resumed pause.
    package static let lastFileName = "set-last.json"

    static func load(_ name: String, from directory: StateDirectory) throws(WorkersError) -> SetPauseRecord? {
        do {
            guard let data = try directory.read(name) else { return nil }
            return try JournalCoding.decode(SetPauseRecord.self, from: data)
        } catch let error as StateDirectoryError {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        } catch {
            throw WorkersError(.stateDirectory, "the journal \(directory.path)/\(name) is unreadable: \(error)")
        }
    }

    func save(as name: String = SetPauseRecord.fileName, in directory: StateDirectory) throws(WorkersError) {
        do {
            try directory.write(try JournalCoding.encode(self), to: name)
        } catch let error as StateDirectoryError {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        } catch {
            throw WorkersError(.stateDirectory, "cannot encode the journal: \(error)")
        }
    }
}
