import FoundationEssentials
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One pgwarden at a time changes a user's crontab, whatever state directory each uses: an
/// exclusive `flock` on a file named for the user in a directory every pgwarden of the machine
/// shares (`/run/pgwarden` for root). It also remembers which state directory paused the crontab
/// last, so that a second pause can say where the first one is.
package final class CrontabUserLock: Sendable {
    /// The lock file, open: `crontab`'s standard input while it installs (see ``Crontab/install(_:stagingIn:holding:)``).
    let descriptor: Int32

    /// How long taking the lock waits for another holder (an orphaned `crontab` finishing) before giving up.
    static let wait = Duration.seconds(3)

    /// The directory of the locks: `PGWARDEN_LOCK_DIR` (for tests), `/run/pgwarden` for root, else one per uid in /tmp.
    static var directory: String {
        if let path = getenv("PGWARDEN_LOCK_DIR").map({ String(cString: $0) }), !path.isEmpty { return path }
        return getuid() == 0 ? "/run/pgwarden" : "/tmp/pgwarden-\(getuid())"
    }

    /// Takes the lock of `user`'s crontab, or says who holds it.
    init(user: String) throws(WorkersError) {
        let directory = Self.directory
        mkdir(directory, 0o700)
        let path = directory + "/crontab-\(Self.fileSafe(user)).lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw WorkersError(.busy, "cannot open the lock \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now.advanced(by: Self.wait)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0, ContinuousClock.now < deadline { usleep(20_000) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmedOfWhitespace ?? "?"
            close(descriptor)
            throw WorkersError(
                .busy,
                "another pgwarden (pid \(holder)) is changing the crontab of \(user) right now",
                hint: "one pause or resume of a user's crontab at a time: wait for it, then try again"
            )
        }
        ftruncate(descriptor, 0)
        _ = "\(getpid())\n".withCString { write(descriptor, $0, strlen($0)) }
        self.descriptor = descriptor
    }

    /// Releases the lock (closing the file would too).
    func release() {
        flock(descriptor, LOCK_UN)
    }

    deinit {
        close(descriptor)
    }

    /// Records that the state directory `path` paused `user`'s crontab (0600 from its creation), so that a
    /// second pause can name it. The pause's own journal is the record that matters; this is its pointer.
    static func recordPause(of user: String, in path: String) throws(WriteFailure) {
        try CheckedWrite.replace(ownerPath(user), with: Array((path + "\n").utf8), durably: false)
    }

    /// The state directory that paused `user`'s crontab last, if known.
    static func lastPause(of user: String) -> String? {
        (try? String(contentsOfFile: ownerPath(user), encoding: .utf8))?.trimmedOfWhitespace
    }

    private static func ownerPath(_ user: String) -> String {
        directory + "/crontab-\(fileSafe(user)).paused-by"
    }

    private static func fileSafe(_ user: String) -> String {
        String(user.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}
