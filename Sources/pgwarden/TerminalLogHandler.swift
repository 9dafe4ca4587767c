import Logging
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// swift-log's stream handler on standard error, with every message and metadata value redacted
/// and made safe for a terminal: the guard logs libpq's messages and other people's text.
///
/// Under systemd (`JOURNAL_STREAM` set: standard error is the journal) each line starts with its
/// syslog priority instead of a timestamp (`<4>warning pgwarden.guard: …`), so that journald
/// files warnings and errors at their level (`journalctl -p warning`).
struct TerminalLogHandler: LogHandler {
    private var wrapped: StreamLogHandler
    private let label: String
    private let toJournal: Bool

    /// A handler writing to standard error at `level`.
    init(label: String, level: Logger.Level, journalStream: String? = Terminal.environment("JOURNAL_STREAM")) {
        wrapped = StreamLogHandler.standardError(label: label)
        wrapped.logLevel = level
        self.label = label
        toJournal = journalStream.map { !$0.isEmpty } ?? false
    }

    /// The syslog priority journald reads from a line's `<N>` prefix.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(Self.prepare(event.message.description))"
        event.metadata = event.metadata?.mapValues { .string(Self.prepare($0.description)) }
        guard toJournal else { return wrapped.log(event: event) }
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let line = "<\(Self.priority(event.level))>\(event.level) \(label): \(event.message)\(fields)\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }

    /// Redacted, one line, control characters shown.
    static func prepare(_ text: String) -> String {
        TerminalText.safe(Redaction.redact(text))
    }
}
