import Logging

/// The run's logger: every line that pgwarden's own logger shows the operator (a failed poll, a worker
/// that could not be journaled) also reaches the run log, so that the log in the state directory keeps
/// everything the terminal showed. The line is still shown as before, by the handler it wraps.
struct RunLogHandler: LogHandler {
    private var upstream: any LogHandler
    private let log: RunLog

    /// Wraps `upstream` (the handler the logger had), also writing to `log`.
    init(wrapping upstream: any LogHandler, log: RunLog) {
        self.upstream = upstream
        self.log = log
    }

    /// `logger`, with its lines also kept in `log`.
    static func logger(_ logger: Logger, keepingIn log: RunLog) -> Logger {
        Logger(label: logger.label) { _ in RunLogHandler(wrapping: logger.handler, log: log) }
    }

    func log(event: LogEvent) {
        upstream.log(event: event)
        guard event.level >= upstream.logLevel else { return }
        let metadata = (upstream.metadata.merging(event.metadata ?? [:]) { $1 })
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        log.record("\(event.level): \(event.message)" + (metadata.isEmpty ? "" : " (\(metadata))"))
    }

    var logLevel: Logger.Level {
        get { upstream.logLevel }
        set { upstream.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { upstream.metadata }
        set { upstream.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { upstream.metadataProvider }
        set { upstream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { upstream[metadataKey: key] }
        set { upstream[metadataKey: key] = newValue }
    }
}
