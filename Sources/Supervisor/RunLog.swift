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
    /// The text kept under the log on a terminal (the operator's question), and how many lines it took.
    private let footer = Mutex<(text: String, lines: Int)?>(nil)
    private let isTerminal = isatty(STDOUT_FILENO) == 1

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

    /// Keeps `text` on screen below the log lines (a terminal), or prints it once (a pipe or a
    /// file); `nil` takes it away.
    public func pin(_ text: String?) {
        guard isTerminal else {
            if let text { emit("[pgwarden \(Self.clock(Date()))] " + Self.prepareLines(text) + "\n") }
            return
        }
        footer.withLock { footer in
            let erase = Self.erase(footer)
            footer = text.map { (Self.fitted(Self.prepareLines($0)), $0.filter { $0 == "\n" }.count) }
            emitLocked(erase + (footer?.text ?? ""))
        }
    }

    private func write(_ source: String, _ message: String) {
        let line = "[\(source) \(Self.clock(Date()))] \(Self.prepare(message))\n"
        guard isTerminal else { return emit(line) }
        footer.withLock { footer in
            emitLocked(Self.erase(footer) + line + (footer?.text ?? ""))
        }
    }

    /// Moves back over the footer and clears it.
    private static func erase(_ footer: (text: String, lines: Int)?) -> String {
        guard let footer else { return "" }
        return "\r" + (footer.lines > 0 ? "\u{1b}[\(footer.lines)A" : "") + "\u{1b}[J"
    }

    /// Each line cut to the terminal's width, so that the footer's line count is exact.
    private static func fitted(_ text: String) -> String {
        var size = winsize()
        let width = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.prefix(width - 1)) }
            .joined(separator: "\n")
    }

    /// Several lines, each made safe by ``prepare(_:)``.
    static func prepareLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { prepare(String($0)) }.joined(separator: "\n")
    }

    /// One line as it may reach the terminal: without secrets, with control characters shown.
    static func prepare(_ message: String) -> String {
        TerminalText.safe(Redaction.redact(message))
    }

    private func emitLocked(_ text: String) {
        lock.withLock { _ in Self.writeAll(text) }
    }

    private func emit(_ text: String) {
        lock.withLock { _ in Self.writeAll(text) }
    }

    private static func writeAll(_ text: String) {
        do {
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
