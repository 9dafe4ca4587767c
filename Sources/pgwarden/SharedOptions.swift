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

    /// An empty (or blank) `--dsn` is refused, as `--dsn=` is by swift-argument-parser: libpq would
    /// read it as "use the environment", so `--dsn "$UNSET"` would quietly connect to whatever
    /// PGHOST/PGDATABASE say. Leaving `--dsn` out is how to ask for that.
    func validate() throws {
        guard let connectionString, ConnectionOptions.isBlank(connectionString) else { return }
        throw ValidationError("--dsn is empty (leave --dsn out to use libpq's environment: PGHOST, PGDATABASE, …)")
    }

    /// Whether `value` is empty or only whitespace: a connection string with no setting in it.
    static func isBlank(_ value: String) -> Bool {
        value.allSatisfy(\.isWhitespace)
    }
}

/// A command-line duration: a number and a unit (`500us`, `250ms`, `10s`, `5min`, `1h`, `1d`), never a bare
/// number. Help shows it as written (`30s`).
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let duration: Duration
    /// As the operator (or the default) wrote it.
    let written: String

    /// A default, written as an operator would write it.
    init(_ written: String) {
        self.init(duration: DurationSyntax.parse(written) ?? .zero, written: written)
        precondition(duration > .zero, "the default '\(written)' is not a duration")
    }

    init?(argument: String) {
        guard let duration = DurationSyntax.parse(argument) else { return nil }
        self.init(duration: duration, written: argument.trimmedOfWhitespace)
    }

    var description: String { written }

    var defaultValueDescription: String { description }

    static var defaultCompletionKind: CompletionKind { .default }

    /// The parser of an option whose durations must lie in `range`: its error names the reason.
    ///
    ///     @Option(parsing: .unconditional, transform: DurationArgument.parser(.lockTimeout))
    static func parser(_ range: DurationRange) -> @Sendable (String) throws -> DurationArgument {
        { text in
            DurationArgument(duration: try DurationSyntax.parse(text, in: range), written: text.trimmedOfWhitespace)
        }
    }

    private init(duration: Duration, written: String) {
        self.duration = duration
        self.written = written
    }
}

/// A count given on the command line, checked against its bounds when parsed.
enum CountArgument {
    /// The parser of a count in `range`.
    static func parser(_ range: ClosedRange<Int>) -> @Sendable (String) throws -> Int {
        { text in
            guard let value = Int(text.trimmedOfWhitespace) else {
                throw ValidationError("expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            guard range.contains(value) else {
                throw ValidationError("must be from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
    }
}
