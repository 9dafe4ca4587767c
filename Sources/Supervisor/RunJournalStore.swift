import Synchronization
import WardenSupport

/// The run journal's one writer. The supervisor, the process launcher (the migration's pid) and
/// the monitor (the last lock wait) all change it through ``update(_:)``, which writes the whole
/// journal durably under a lock, so that no writer overwrites another's change with a stale copy.
final class RunJournalStore: Sendable {
    private let journal: Mutex<RunJournal>
    private let failed = Mutex<[OperatorError]>([])
    private let directory: StateDirectory
    private let log: RunLog

    init(_ journal: RunJournal, directory: StateDirectory, log: RunLog) {
        self.journal = Mutex(journal)
        self.directory = directory
        self.log = log
    }

    /// The writes of the journal that failed, in order.
    var failures: [OperatorError] { failed.withLock { $0 } }

    /// The journal as it stands.
    var current: RunJournal { journal.withLock { $0 } }

    /// Writes the journal for the first time: a run that cannot be journaled does not start.
    func create() throws(OperatorError) {
        do {
            try journal.withLock { try $0.save(in: directory) }
        } catch {
            throw OperatorError(.supervisor, "cannot write the run journal: \(Supervisor.describe(error))")
        }
    }

    /// Changes the journal and writes it. A write that fails is said, not thrown: the run goes on,
    /// and the workers' own journal (written before the crontab changed) still restores the crontab.
    func update(_ change: (inout RunJournal) -> Void) {
        journal.withLock { journal in
            change(&journal)
            do {
                try journal.save(in: directory)
            } catch {
                log.warn("cannot update the run journal: \(Supervisor.describe(error))")
                failed.withLock { $0.append(OperatorError(.supervisor, Supervisor.describe(error))) }
            }
        }
    }

    /// Records the end of the run as the last run, and removes the journal of the run in progress.
    func finish(_ change: (inout RunJournal) -> Void) {
        journal.withLock { journal in
            change(&journal)
            do {
                try journal.save(as: RunJournal.lastFileName, in: directory)
                try directory.remove(RunJournal.fileName)
            } catch {
                log.warn("cannot record the end of the run in the journal: \(Supervisor.describe(error))")
                failed.withLock { $0.append(OperatorError(.supervisor, Supervisor.describe(error))) }
            }
        }
    }
}
