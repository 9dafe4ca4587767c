import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A write that matters did not complete: the file, and why.
package struct WriteFailure: Error, Sendable, Equatable, DiagnosableError {
    /// The file.
    package let path: String
    /// Why, as the system says it (`No space left on device`).
    package let reason: String

    /// Creates a failure of writing `path`.
    package init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    package var summary: String { "cannot write \(path): \(reason)" }

    package var hint: String? {
        reason.contains("No space") ? "the file system is full: free space, then check with pgwarden status" : nil
    }
}

/// The one write path for every file that matters (journals, the audit log, the report, the run log):
/// swift-system's `writeAll` (short writes and EINTR handled), then `fsync` where asked, and every
/// failure thrown, never swallowed.
package enum CheckedWrite {
    /// Writes all of `bytes` to `descriptor`, which is the file `path`.
    package static func write(
        _ bytes: some Sequence<UInt8>,
        to descriptor: FileDescriptor,
        path: String
    ) throws(WriteFailure) {
        do {
            try descriptor.writeAll(bytes)
        } catch {
            throw WriteFailure(path: path, reason(error))
        }
    }

    /// Makes what was written to `descriptor` (the file `path`) durable, then closes it; the descriptor is
    /// closed even when the sync fails. A failure here may mean earlier writes are lost: a network file
    /// system, or a disk that failed after accepting them, reports it only at `fsync` or `close`.
    package static func finish(_ descriptor: FileDescriptor, path: String) throws(WriteFailure) {
        let synced = Result { () throws(WriteFailure) in try sync(descriptor, path: path) }
        do {
            try descriptor.close()
        } catch {
            throw WriteFailure(path: path, reason(error))
        }
        try synced.get()
    }

    /// Makes what was written to `descriptor` (the file `path`) durable. A device that cannot sync
    /// (EINVAL: a pipe, a terminal, /dev/null) is no failure of the data.
    package static func sync(_ descriptor: FileDescriptor, path: String) throws(WriteFailure) {
        guard fsync(descriptor.rawValue) != 0, errno != EINVAL else { return }
        throw WriteFailure(path: path, reason(Errno(rawValue: errno)))
    }

    /// Creates or truncates `path` as a 0600 file holding `bytes`, fsynced when `durably`.
    package static func replace(_ path: String, with bytes: some Sequence<UInt8>, durably: Bool) throws(WriteFailure) {
        let descriptor = try open(path, options: [.create, .truncate, .closeOnExec])
        do {
            try descriptor.closeAfter {
                try descriptor.writeAll(bytes)
                if durably { try sync(descriptor, path: path) }
            }
        } catch {
            throw WriteFailure(path: path, reason(error))
        }
    }

    /// Opens `path` for appending, creating it 0600.
    package static func openForAppending(_ path: String) throws(WriteFailure) -> FileDescriptor {
        try open(path, options: [.create, .append, .closeOnExec])
    }

    private static func open(_ path: String, options: FileDescriptor.OpenOptions) throws(WriteFailure)
        -> FileDescriptor
    {
        do {
            let descriptor = try FileDescriptor.open(
                FilePath(path),
                .writeOnly,
                options: options,
                permissions: [.ownerReadWrite]
            )
            tightenPermissions(of: descriptor)
            return descriptor
        } catch {
            throw WriteFailure(path: path, reason(error))
        }
    }

    /// Makes a regular file of this user's 0600; never touches a device (`/dev/null`, `/dev/stdout`) or
    /// another user's file, whose mode is not pgwarden's to change.
    private static func tightenPermissions(of descriptor: FileDescriptor) {
        var status = stat()
        guard fstat(descriptor.rawValue, &status) == 0, status.st_mode & S_IFMT == S_IFREG,
            status.st_uid == getuid()
        else { return }
        fchmod(descriptor.rawValue, 0o600)
    }

    private static func reason(_ error: any Error) -> String {
        if let errno = error as? Errno { return String(cString: strerror(errno.rawValue)) }
        if let failure = error as? WriteFailure { return failure.reason }
        return "\(error)"
    }
}
