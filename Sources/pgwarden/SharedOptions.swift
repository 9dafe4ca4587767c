import ArgumentParser
import WardenSupport

/// The options of every command that talks to PostgreSQL.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("dsn"),
        help: ArgumentHelp(
            "libpq connection string or postgresql:// URI (default: libpq's environment).",
            valueName: "conninfo"
        )
    )
    var connectionString: String?
}

/// A command-line duration: `250ms`, `10s`, `5m`, `1h`, or a bare number of seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        guard let duration = DurationSyntax.parse(argument) else { return nil }
        self.duration = duration
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
