import FoundationEssentials
import Processes
import WardenSupport

/// The supervisor's write-ahead record of a run, in the state directory: enough for
/// `pgwarden recover` after a crash and for `pgwarden status`. Holds no password.
package struct RunJournal: Codable, Sendable {
    /// Where the run stands.
    package enum Phase: String, Codable, Sendable {
        case started, workersPaused = "workers-paused", migrating, finishing, finished, recovered
    }

    package var runID: String
    package var command: [String]
    package var startedAt: Date
    package var phase: Phase
    /// The supervisor's own pid, to tell a crashed run from a running one.
    package var supervisorPID: Int32
    /// The supervisor's start time (clock ticks since boot): with its pid, which process it is.
    package var supervisorStartTime: UInt64?
    /// The state directory the run used, for the hints of `status` and `recover` found through a crontab.
    package var stateDirectory: String?
    package var workersPaused = false
    package var migrationPID: Int32?
    /// The migration's start time (clock ticks since boot): with its pid, which process it is.
    package var migrationStartTime: UInt64?
    /// The last lock wait the monitor saw, for the people reading `status` after a crash.
    package var lastLockWait: String?
    package var outcome: String?
    package var finishedAt: Date?
    package var reportPath: String?
    package var steps: [String] = []
    /// The run's worker sets, in order, and where each stands: written before each set's pause and resume.
    package var workerSets: [WorkerSetEntry]?

    /// One worker set of the run, as the journal holds it.
    package struct WorkerSetEntry: Codable, Sendable, Equatable {
        /// `workers[2] (supervisor app-worker:*)`.
        package var name: String
        /// The directory of its own journal (the state directory itself for the first crontab set).
        package var directory: String
        package var state: WorkerSetsMachine.SetState
        /// The host that pauses it (through ssh), journaled before each remote step; `nil`: here.
        package var host: String?
        /// The remote pause's id, chosen before the host is asked.
        package var pauseID: String?
        /// What the host last answered (`paused`, `resumed`, `not-paused`, `cancelled`) or why it did not.
        package var answer: String?
        /// The remote pause's deadline (its `--not-after`, seconds since 1970), journaled before it is asked: given
        /// again with each resume, so that a pause the host never made is refused there until then.
        package var notAfter: Int?
        /// How the host is reached: `ssh -F` and the pgwarden program there (for `recover`).
        package var sshConfig: String?
        package var program: String?
    }

    private enum CodingKeys: String, CodingKey {
        case phase, command, outcome, steps
        case runID = "run_id"
        case startedAt = "started_at"
        case supervisorPID = "supervisor_pid"
        case supervisorStartTime = "supervisor_start_time"
        case stateDirectory = "state_directory"
        case workersPaused = "workers_paused"
        case migrationPID = "migration_pid"
        case migrationStartTime = "migration_start_time"
        case lastLockWait = "last_lock_wait"
        case finishedAt = "finished_at"
        case reportPath = "report_path"
        case workerSets = "worker_sets"
    }

    /// The journal of the run in progress (or crashed).
    package static let fileName = "upgrade-run.json"
    /// The last finished run.
    package static let lastFileName = "upgrade-last.json"

    /// Whether the supervisor of this run still runs: its pid with its start time (an older journal without
    /// the start time: its pid, running a pgwarden).
    package var supervisorIsRunning: Bool {
        if let supervisorStartTime {
            return ProcessIdentity(pid: supervisorPID, startTime: supervisorStartTime).isRunning
        }
        guard let entry = ProcFileSystem.entry(for: supervisorPID) else { return false }
        return entry.identity.isRunning && entry.commandLine.contains("pgwarden")
    }

    static func load(_ name: String, from directory: StateDirectory) throws -> RunJournal? {
        guard let data = try directory.read(name) else { return nil }
        return try JournalCoding.decode(RunJournal.self, from: data)
    }

    func save(as name: String = RunJournal.fileName, in directory: StateDirectory) throws {
        try directory.write(try JournalCoding.encode(self), to: name)
    }

}
