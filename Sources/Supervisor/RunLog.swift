import Foundation
import Synchronization
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
public final class RunLog: Sendable {
    private let lock = Mutex(())

    /// Creates a log on standard output.
    public init() {}

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
        lock.withLock { _ in
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                bytes = bytes.dropFirst(written)
            }
        }
    }

    /// `18:00:00.123`, UTC.
    static func clock(_ date: Date) -> String {
        let stamp = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        return String(stamp.dropFirst(11).prefix(12))
    }
}
