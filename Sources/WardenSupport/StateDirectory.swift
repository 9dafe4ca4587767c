import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// pgwarden's state directory: journals written ahead of every change, so that any
/// path — a crash, a kill -9, an SSH drop — can be recovered from.
///
/// The directory is 0700 and its files 0600. Files are replaced atomically: written
/// to a temporary file, fsynced, renamed over the old one, and the directory fsynced.
package struct StateDirectory: Sendable {
    /// The directory's path.
    package let path: String

    /// Uses `path`, or the default: `/var/lib/pgwarden` for root, else
    /// `$XDG_STATE_HOME/pgwarden` or `~/.local/state/pgwarden`.
    package init(path: String? = nil) {
        self.path = path ?? Self.defaultPath()
    }

    /// The default state directory for this user.
    package static func defaultPath() -> String {
        if getuid() == 0 { return "/var/lib/pgwarden" }
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/pgwarden" }
        return (environment["HOME"] ?? Self.passwordHome()) + "/.local/state/pgwarden"
    }

    /// The home directory in the password database (what `NSHomeDirectory()` gave without `HOME`).
    private static func passwordHome() -> String {
        guard let entry = getpwuid(getuid()), let home = entry.pointee.pw_dir else { return "/" }
        return String(cString: home)
    }

    /// Creates the directory (0700) if needed and checks that it can be written.
    package func prepare() throws(StateDirectoryError) {
        var status = stat()
        if stat(path, &status) != 0 {
            if let reason = Self.makeDirectories(path) {
                throw StateDirectoryError("cannot create the state directory \(path): \(reason)")
            }
        } else if status.st_mode & S_IFMT != S_IFDIR {
            throw StateDirectoryError("the state directory \(path) exists and is not a directory")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw StateDirectoryError(
                "the state directory \(path) is not writable",
                hint: "choose another with --state-dir, or run as its owner"
            )
        }
        if stat(path, &status) == 0, status.st_uid == getuid(), status.st_mode & 0o077 != 0 {
            chmod(path, 0o700)
        }
    }

    /// Holds the directory's lock until the returned value is released, or the process ends.
    ///
    /// - Throws: when another process holds it; the error names that process.
    package func lock(named name: String = "lock") throws(StateDirectoryError) -> StateLock {
        let lockPath = path + "/" + name
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StateDirectoryError("cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmedOfWhitespace ?? "?"
            close(descriptor)
            throw StateDirectoryError(
                "another pgwarden (pid \(holder)) is using the state directory \(path)",
                hint: "wait for it to finish; two cannot work on one state directory at once"
            )
        }
        ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { Glibc.write(descriptor, $0, strlen($0)) }
        return StateLock(descriptor: descriptor)
    }

    /// The contents of `name`, or `nil` when it does not exist.
    package func read(_ name: String) throws(StateDirectoryError) -> Data? {
        let file = path + "/" + name
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw StateDirectoryError("cannot read \(file)")
        }
        return data
    }

    /// Replaces `name` with `data`, atomically and durably, as a 0600 file.
    package func write(_ data: Data, to name: String) throws(StateDirectoryError) {
        let file = path + "/" + name
        let temporary = file + ".tmp-\(getpid())"
        do {
            try CheckedWrite.replace(temporary, with: data, durably: true)
        } catch {
            unlink(temporary)
            throw StateDirectoryError("cannot write \(file): \(error.reason)", hint: error.hint)
        }
        guard rename(temporary, file) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw StateDirectoryError("cannot write \(file): \(reason)")
        }
        syncDirectory()
    }

    /// Removes `name`, durably; nothing happens when it does not exist.
    package func remove(_ name: String) throws(StateDirectoryError) {
        let file = path + "/" + name
        guard unlink(file) == 0 || errno == ENOENT else {
            throw StateDirectoryError("cannot remove \(file): \(String(cString: strerror(errno)))")
        }
        syncDirectory()
    }

    private func syncDirectory() {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// `mkdir -p`, each directory it creates 0700; the system's reason when one cannot be made.
    private static func makeDirectories(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return String(cString: strerror(errno)) }
        }
        return nil
    }
}

/// The state directory's lock; released by ``release()`` or when the process ends.
package final class StateLock: Sendable {
    private let descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Releases the lock.
    package func release() {
        flock(descriptor, LOCK_UN)
    }

    deinit {
        close(descriptor)
    }
}

/// The state directory cannot be used.
package struct StateDirectoryError: Error, Sendable, Equatable, DiagnosableError {
    package let summary: String
    package let hint: String?

    package init(_ summary: String, hint: String? = nil) {
        self.summary = summary
        self.hint = hint
    }
}
