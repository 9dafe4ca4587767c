import Logging
import WardenSupport

/// swift-log's stream handler on standard error, with every message and metadata value redacted
/// and made safe for a terminal: the guard logs libpq's messages and other people's text.
struct TerminalLogHandler: LogHandler {
    private var wrapped: StreamLogHandler

    /// A handler writing to standard error at `level`.
    init(label: String, level: Logger.Level) {
        wrapped = StreamLogHandler.standardError(label: label)
        wrapped.logLevel = level
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
        wrapped.log(event: event)
    }

    /// Redacted, one line, control characters shown.
    static func prepare(_ text: String) -> String {
        TerminalText.safe(Redaction.redact(text))
    }
}
