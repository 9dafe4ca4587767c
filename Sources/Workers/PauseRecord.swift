import FoundationEssentials
import WardenSupport

/// What the journal holds of one pause, written before the crontab changes.
package struct PauseRecord: Codable, Sendable, Equatable {
    /// Where a pause stands.
    package enum Phase: String, Codable, Sendable {
        /// Journaled; the crontab may or may not have been installed yet.
        case pausing
        /// The commented crontab is installed.
        case paused
        /// A resume has begun.
        case resuming
        /// Resumed: kept only as the last pause, for `status`.
        case resumed
    }

    /// A worker process the pause found running, and how it ended.
    package struct Worker: Codable, Sendable, Equatable {
        package let pid: Int32
        package let commandLine: String
        package let outcome: String

        private enum CodingKeys: String, CodingKey {
            case pid, outcome
            case commandLine = "command_line"
        }
    }

    package var version = 1
    /// Names this pause; its markers in the crontab carry it.
    package var pauseID: String
    /// Whose crontab.
    package var user: String
    /// The `--match` expressions.
    package var patterns: [String]
    /// When the pause began.
    package var pausedAt: Date
    /// Where it stands.
    package var phase: Phase
    /// The crontab before the pause, byte for byte (protected like cron's own spool: 0600 in a 0700 directory).
    package var crontabBefore: [UInt8]
    /// The lines commented.
    package var pausedLines: [CrontabPause.PausedLine]
    /// The workers found running, and how they ended.
    package var workers: [Worker] = []
    /// When the resume finished.
    package var resumedAt: Date?
    /// Who paused: `pgwarden workers pause` or an upgrade run.
    package var owner: String
    /// The crontab pgwarden is installing right now, written before `crontab` runs and cleared after:
    /// when a crontab found later is empty or a cut-short start of this, pgwarden's own install was
    /// interrupted, and this is what it meant to install.
    package var installing: [UInt8]?

    /// Creates the record of a pause starting now.
    package init(
        pauseID: String,
        user: String,
        patterns: [String],
        pausedAt: Date,
        phase: Phase,
        crontabBefore: [UInt8],
        pausedLines: [CrontabPause.PausedLine],
        owner: String
    ) {
        self.pauseID = pauseID
        self.user = user
        self.patterns = patterns
        self.pausedAt = pausedAt
        self.phase = phase
        self.crontabBefore = crontabBefore
        self.pausedLines = pausedLines
        self.owner = owner
    }

    /// The journal's file name in the state directory.
    package static let fileName = "workers-pause.json"
    /// Where the last resumed pause is kept for `status`.
    package static let lastFileName = "workers-last.json"

    /// Reads the record `name` from `directory`, if there is one.
    static func load(_ name: String, from directory: StateDirectory) throws(WorkersError) -> PauseRecord? {
        let data: Data?
        do {
            data = try directory.read(name)
        } catch {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        }
        guard let data else { return nil }
        do {
            return try JournalCoding.decode(PauseRecord.self, from: data)
        } catch {
            throw WorkersError(
                .stateDirectory,
                "the journal \(directory.path)/\(name) is unreadable: \(error)",
                hint: "it is JSON: inspect it, and restore the crontab from its crontabBefore by hand if need be"
            )
        }
    }

    /// Writes the record as `name` in `directory`, durably.
    func save(as name: String, in directory: StateDirectory) throws(WorkersError) {
        do {
            try directory.write(try JournalCoding.encode(self), to: name)
        } catch let error as StateDirectoryError {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        } catch {
            throw WorkersError(.stateDirectory, "cannot encode the journal: \(error)")
        }
    }

}
