import Synchronization
import SystemPackage
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Where audit lines go: standard output, or a file opened for appending (0600).
///
/// Every append is checked. A failed one (a full disk) is said on standard error, once when the
/// failures start and once when writing works again, and counted in ``failedWrites`` (for the
/// metrics and the exit status); the guard goes on guarding.
package final class AuditLog: AuditSink {
    private let path: String
    private let ownsDescriptor: Bool
    private let failures: Mutex<Failures>

    /// The open file (replaced by ``reopen()``) and the count of lost entries, under one lock.
    private struct Failures {
        var descriptor: FileDescriptor
        var total = 0
        var inARow = 0
    }

    /// Standard output.
    package static let standardOutput = AuditLog(
        descriptor: .standardOutput,
        path: "standard output",
        ownsDescriptor: false
    )

    private init(descriptor: FileDescriptor, path: String, ownsDescriptor: Bool) {
        failures = Mutex(Failures(descriptor: descriptor))
        self.path = path
        self.ownsDescriptor = ownsDescriptor
    }

    /// Opens `path` for appending, creating it 0600.
    package convenience init(appendingTo path: String) throws(OperatorError) {
        do {
            self.init(descriptor: try CheckedWrite.openForAppending(path), path: path, ownsDescriptor: true)
        } catch {
            throw OperatorError(.auditLog, "cannot open the audit log \(path): \(error.reason)")
        }
    }

    deinit {
        if ownsDescriptor { failures.withLock { finish(&$0) } }
    }

    /// Opens the path again (on SIGHUP), so that a log rotated away (`mv`, logrotate's `create`)
    /// is followed by a new file at the path; the old descriptor is closed once the new one is open.
    package func reopen() throws(OperatorError) {
        guard ownsDescriptor else { return }
        let fresh: FileDescriptor
        do {
            fresh = try CheckedWrite.openForAppending(path)
        } catch {
            throw OperatorError(.auditLog, "cannot reopen the audit log \(path): \(error.reason)")
        }
        failures.withLock { failures in
            finish(&failures)
            failures.descriptor = fresh
        }
    }

    /// How many audit entries could not be written.
    package var failedWrites: Int { failures.withLock { $0.total } }

    /// Appends one record as one line, in one write, so that lines never interleave; false when
    /// it could not be written.
    @discardableResult
    package func append(_ line: JSONValue) -> Bool {
        let bytes = Array((line.serialized() + "\n").utf8)
        return failures.withLock { failures in
            do throws(WriteFailure) {
                try CheckedWrite.write(bytes, to: failures.descriptor, path: path)
                if failures.inARow > 0 {
                    say("warning: the audit log \(path) is written again, after \(failures.inARow) entries lost")
                }
                failures.inARow = 0
                return true
            } catch {
                if failures.inARow == 0 {
                    say("error: an audit entry was not written: \(error.summary); the guard goes on")
                }
                failures.inARow += 1
                failures.total += 1
                return false
            }
        }
    }

    /// Syncs and closes the file in use. A failure means entries already appended may be lost: said, and
    /// counted as one lost entry (the number lost cannot be known).
    private func finish(_ failures: inout Failures) {
        do throws(WriteFailure) {
            try CheckedWrite.finish(failures.descriptor, path: path)
        } catch {
            say("error: the audit log \(path) may have lost entries written before it was closed: \(error.summary)")
            failures.total += 1
        }
    }

    /// Standard error, the one place left to say that the audit log failed; when it is gone too, the
    /// failure still counts in ``failedWrites`` (metrics, exit status).
    private func say(_ line: String) {
        _ = try? FileDescriptor.standardError.writeAll(Array((line + "\n").utf8))
    }
}
