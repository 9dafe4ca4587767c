import FoundationEssentials
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
///     [pgwarden 2026-12-01T18:00:00.123Z] pausing workers: --match app-cli
///     [migration 2026-12-01T18:00:01.456Z] INFO  [alembic.runtime.migration] Running upgrade  -> 0001
///
/// Standard output may vanish (a `| head`, a dead SSH session): what cannot be written there is
/// dropped, and the run goes on. The file of ``keep(in:)`` in the state directory gets every line,
/// each write checked.
package final class RunLog: Sendable {
    private let state = Mutex(KeptFile())
    private let migrationListener = Mutex<(@Sendable (String) -> Void)?>(nil)
    /// Whether standard output is a terminal (the status line and question are kept on screen).
    package let isTerminal = isatty(STDOUT_FILENO) == 1

    /// The run's own copy of the log: buffered until the state directory is ready, then a file;
    /// and the text kept under the log on a terminal (the operator's question), with its line count.
    private struct KeptFile {
        var descriptor: FileDescriptor?
        var path = ""
        var buffered: [UInt8] = []
        var failure: WriteFailure?
        var failedWrites = 0
        var footer: (text: String, lines: Int)?
    }

    /// Whether the timestamps are in the local time zone (with its offset) rather than UTC.
    private let localTime: Bool

    /// Creates a log on standard output; with `localTime`, timestamps carry the local offset instead of `Z`.
    package init(localTime: Bool = false) {
        self.localTime = localTime
    }

    /// From now on, every line also goes to `path` (created 0600), starting with the lines so far.
    package func keep(in path: String) throws(WriteFailure) {
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
    package var fileFailure: (first: WriteFailure, count: Int)? {
        state.withLock { kept in kept.failure.map { ($0, kept.failedWrites) } }
    }

    /// Makes the kept file durable, so that a failure to store it counts in ``fileFailure`` before the
    /// run's exit status is decided (a network file system reports a lost write only at `fsync`).
    package func sync() {
        state.withLock { kept in
            guard let descriptor = kept.descriptor else { return }
            do throws(WriteFailure) {
                try CheckedWrite.sync(descriptor, path: kept.path)
            } catch {
                kept.failure = kept.failure ?? error
                kept.failedWrites += 1
            }
        }
    }

    /// Closes the kept file. It was synced by ``sync()`` before the exit status was decided; what a close
    /// could report after that has nowhere to go but this comment.
    package func close() {
        state.withLock { kept in
            try? kept.descriptor?.close()
            kept.descriptor = nil
        }
    }

    /// A line of pgwarden's.
    package func say(_ message: String) {
        write("pgwarden", message)
    }

    /// A warning of pgwarden's (also marked as such).
    package func warn(_ message: String) {
        write("pgwarden", "warning: " + message)
    }

    /// An error of pgwarden's: what ends the run (also marked as such).
    package func error(_ message: String) {
        write("pgwarden", "error: " + message)
    }

    /// A line for the run log alone: what pgwarden's logger has already shown on standard error.
    func record(_ message: String) {
        emit("[pgwarden \(clock(Date()))] \(Self.prepare(message))\n", screen: { _ in "" })
    }

    /// A line the migration printed on its standard output.
    package func migration(_ line: String) {
        write("migration", line)
        migrationListener.withLock { $0 }?(line)
    }

    /// A line the migration printed on its standard error: it stays on pgwarden's standard error.
    package func migrationError(_ line: String) {
        write("migration", line, toStandardError: true)
        migrationListener.withLock { $0 }?(line)
    }

    /// Hands every line the migration prints to `listener` as well, once it is written; `nil` stops.
    func listenToMigration(_ listener: (@Sendable (String) -> Void)?) {
        migrationListener.withLock { $0 = listener }
    }

    /// Writes a prompt without a newline.
    package func prompt(_ text: String) {
        emit("[pgwarden \(clock(Date()))] " + Self.prepare(text))
    }

    /// Keeps `text` on screen below the log lines (a terminal), or prints it once (a pipe or a
    /// file); `nil` takes it away.
    package func pin(_ text: String?) {
        guard isTerminal else {
            if let text { emit("[pgwarden \(clock(Date()))] " + Self.prepareLines(text) + "\n") }
            return
        }
        emit("") { kept in
            let erase = Self.erase(kept.footer)
            kept.footer = text.map { (Self.fitted(Self.prepareLines($0)), $0.filter { $0 == "\n" }.count) }
            return erase + (kept.footer?.text ?? "")
        }
    }

    private func write(_ source: String, _ message: String, toStandardError: Bool = false) {
        let line = "[\(source) \(clock(Date()))] \(Self.prepare(message))\n"
        if toStandardError {
            // The footer (on standard output) is taken away and put back around the line, when there is one.
            return emit(
                line,
                screen: { kept in Self.erase(kept.footer) },
                after: { kept in kept.footer?.text ?? "" },
                toStandardError: true
            )
        }
        guard isTerminal else { return emit(line) }
        emit(line) { kept in Self.erase(kept.footer) + line + (kept.footer?.text ?? "") }
    }

    /// Several lines, each made safe by ``prepare(_:)``.
    static func prepareLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { prepare(String($0)) }
            .joined(separator: "\n")
    }

    /// One line as it may reach the terminal: without secrets, with control characters shown.
    static func prepare(_ message: String) -> String {
        TerminalText.safe(Redaction.redact(message))
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
        return fitted(text, columns: width)
    }

    /// Each line of `text` cut to less than `columns` columns as the terminal draws them (a wide
    /// character takes two): a line that wrapped would leave a line of the footer behind when it is erased.
    /// A cut line ends in `…`, never inside a number (`pid 1591` of `pid 15916` would name another session).
    static func fitted(_ text: String, columns: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { DisplayWidth.cut(String($0), columns: columns - 1) }
            .joined(separator: "\n")
    }

    /// `text` to the kept file; to standard output what `screen` makes of it (by default `text`).
    /// With `toStandardError`, `text` goes to standard error between `screen` and `after` on standard output.
    private func emit(
        _ text: String,
        screen: ((inout KeptFile) -> String)? = nil,
        after: ((inout KeptFile) -> String)? = nil,
        toStandardError: Bool = false
    ) {
        let bytes = Array(text.utf8)
        state.withLock { kept in
            // Standard output and error: whatever can be written; EPIPE or EIO (SIGPIPE is ignored) drop the rest.
            if toStandardError {
                let before = isTerminal ? (screen.map { $0(&kept) } ?? "") : ""
                if !before.isEmpty { _ = try? FileDescriptor.standardOutput.writeAll(Array(before.utf8)) }
                _ = try? FileDescriptor.standardError.writeAll(bytes)
                let rest = isTerminal ? (after.map { $0(&kept) } ?? "") : ""
                if !rest.isEmpty { _ = try? FileDescriptor.standardOutput.writeAll(Array(rest.utf8)) }
            } else {
                let shown = screen.map { Array($0(&kept).utf8) } ?? bytes
                _ = try? FileDescriptor.standardOutput.writeAll(shown)
            }
            guard !bytes.isEmpty else { return }
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

    /// `2026-12-01T18:00:00.123Z`: an ISO 8601 date and time in UTC (or with the local offset,
    /// `--local-time`), so that a log read the next day, or beside the server's, is never ambiguous.
    func clock(_ date: Date) -> String {
        localTime
            ? date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: Self.localZone(date)))
            : date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The local time zone at `date`, as a fixed offset from the C library's zone data (TZ,
    /// /etc/localtime): FoundationEssentials alone knows no named zone but GMT.
    static func localZone(_ date: Date) -> TimeZone {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return .gmt }
        return TimeZone(secondsFromGMT: parts.tm_gmtoff) ?? .gmt
    }
}
