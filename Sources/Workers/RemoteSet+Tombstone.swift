import FoundationEssentials
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The files of a remote pause's directory that ``RemoteSet`` decides from: its lock, its tombstone, whether it was
/// ever made.
extension RemoteSet {
    /// The states that confirm a resume: done, not in force (resumed already), or cancelled before it arrived.
    package static let resumeAnswers: Set<String> = ["resumed", "not-paused", PauseTombstone.state]

    /// `--not-after SECONDS` for a resume, when the pause's deadline is known.
    package static func deadlineArguments(_ notAfter: Int?) -> [String] {
        notAfter.map { ["--not-after", String($0)] } ?? []
    }

    /// The lock of pause `id`'s directory, held while it is paused or resumed here (not the set's own journal lock).
    static let lockName = "remote.lock"

    /// What a pause directory holds when nothing was ever journaled in it but a tombstone: the locks taken there.
    static let tombstoneFiles: Set<String> = [PauseTombstone.fileName, lockName, "set.lock", "lock"]

    /// Holds pause `id`'s lock; a pause or resume of it under way here makes this one fail, to be asked again.
    func lock(_ id: String) throws(WorkersError) -> StateLock {
        let directory = try directory(id)
        do {
            try directory.prepare()
            return try directory.lock(named: Self.lockName)
        } catch {
            throw WorkersError(.busy, "pause \(id) is being paused or resumed here already: \(error.summary)")
        }
    }

    /// Whether pause `id` was ever journaled here (its last record is kept after its resume).
    func wasMade(_ id: String) throws(WorkersError) -> Bool {
        let path = try directory(id).path
        return [PauseRecord.lastFileName, SetPauseRecord.lastFileName].contains {
            FileManager.default.fileExists(atPath: path + "/" + $0)
        }
    }

    /// Pause `id`'s tombstone, if a resume of it came before it.
    func tombstone(_ id: String) throws(WorkersError) -> PauseTombstone? {
        let directory = try directory(id)
        do {
            guard let data = try directory.read(PauseTombstone.fileName) else { return nil }
            return try JournalCoding.decode(PauseTombstone.self, from: data)
        } catch let error as StateDirectoryError {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        } catch {
            // Unreadable, it still says a resume came first: the pause is refused all the same.
            return PauseTombstone(pauseID: id, madeAt: Date(), notAfter: nil)
        }
    }

    /// Writes `tombstone`, durably, before the resume answers.
    func saveTombstone(_ tombstone: PauseTombstone) throws(WorkersError) {
        let directory = try directory(tombstone.pauseID)
        do {
            try directory.write(try JournalCoding.encode(tombstone), to: PauseTombstone.fileName)
        } catch let error as StateDirectoryError {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        } catch {
            throw WorkersError(.stateDirectory, "cannot encode the tombstone of pause \(tombstone.pauseID): \(error)")
        }
    }

    /// Removes the tombstones past their expiry (no pause of theirs can land any more), each pause directory
    /// holding nothing else with it; one in use, or that cannot be removed, is left for next time.
    func pruneTombstones(now: Date) {
        guard let directories = try? WorkerSetPause.directories(under: stateDirectory) else { return }
        for directory in directories {
            let id = String(directory.path.split(separator: "/").last ?? "")
            guard let tombstone = try? tombstone(id), tombstone.isExpired(at: now),
                let held = try? lock(id)
            else { continue }
            defer { held.release() }
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            // Only the tombstone and lock files (this host's `recover` may have left its own): nothing journaled.
            guard Set(files).isSubset(of: Self.tombstoneFiles) else { continue }
            files.forEach { try? directory.remove($0) }
            rmdir(directory.path)
        }
    }
}
