import Foundation
import Synchronization
import SystemPackage
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The supervisor's timestamped log on standard output; the migration's own lines pass through it, marked.
///
/// Every line is redacted (``Redaction``) and made safe for a terminal (``TerminalText``) here, so that
/// no caller can forget: lines quote queries, role and table names, crontab lines and the migration's
/// own output.
///
///     [pgwarden 18:00:00.123] pausing workers: --match app-cli
///     [migration 18:00:01.456] INFO  [alembic.runtime.migration] Running upgrade  -> 0001
///
/// Standard output may vanish (a `| head`, a dead SSH session): what cannot be written there is
/// dropped, and the run goes on. The file of ``keep(in:)`` in the state directory gets every line,
/// each write checked.
public final class RunLog: Sendable {
    private let state = Mutex(KeptFile())

    /// The run's own copy of the log: buffered until the state directory is ready, then a file.
    private struct KeptFile {
        var descriptor: FileDescriptor?
        var path = ""
        var buffered: [UInt8] = []
        var failure: WriteFailure?
        var failedWrites = 0
    }

    /// Creates a log on standard output.
    public init() {}

    /// From now on, every line also goes to `path` (created 0600), starting with the lines so far.
    public func keep(in path: String) throws(WriteFailure) {
        let descriptor = try CheckedWrite.openForAppending(path)
        try state.withLock { (kept: inout KeptFile) throws(WriteFailure) in
            kept.descriptor = descriptor
            kept.path = path
            let earlier = kept.buffered
            kept.buffered = []
            try CheckedWrite.write(earlier, to: descriptor, path: path)
        }
    }

    /// The first write to the kept file that failed, and how many did.
    public var fileFailure: (first: WriteFailure, count: Int)? {
        state.withLock { kept in kept.failure.map { ($0, kept.failedWrites) } }
    }

    /// Closes the kept file.
    public func close() {
        state.withLock { kept in
            try? kept.descriptor?.close()
            kept.descriptor = nil
        }
    }

    /// A line of pgwarden's.
    public func say(_ message: String) {
        write("pgwarden", message)
    }

    /// A warning of pgwarden's (also marked as such).
    public func warn(_ message: String) {
        write("pgwarden", "warning: " + message)
    }

    /// A line the migration printed.
    public func migration(_ line: String) {
        write("migration", line)
    }

    /// Writes a prompt without a newline.
    public func prompt(_ text: String) {
        emit("[pgwarden \(Self.clock(Date()))] " + Self.prepare(text))
    }

    private func write(_ source: String, _ message: String) {
        emit("[\(source) \(Self.clock(Date()))] \(Self.prepare(message))\n")
    }

    /// One line as it may reach the terminal: without secrets, with control characters shown.
    static func prepare(_ message: String) -> String {
        TerminalText.safe(Redaction.redact(message))
    }

    private func emit(_ text: String) {
        let bytes = Array(text.utf8)
        state.withLock { kept in
            // Standard output: whatever can be written; EPIPE or EIO (SIGPIPE is ignored) drop the rest.
            _ = try? FileDescriptor.standardOutput.writeAll(bytes)
            guard let descriptor = kept.descriptor else {
                if kept.buffered.count < 1 << 20 { kept.buffered += bytes }
                return
            }
            do throws(WriteFailure) {
                try CheckedWrite.write(bytes, to: descriptor, path: kept.path)
            } catch {
                kept.failure = kept.failure ?? error
                kept.failedWrites += 1
            }
        }
    }

    /// `18:00:00.123`, UTC.
    static func clock(_ date: Date) -> String {
        let stamp = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        return String(stamp.dropFirst(11).prefix(12))
    }
}
