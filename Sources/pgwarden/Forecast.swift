import ArgumentParser
import Forecast
import ForecastInspection
import FoundationEssentials
import Logging
import WardenSupport

extension PGWarden {
    /// `pgwarden forecast`: the locks a migration will take, checked against the live database before it runs.
    struct ForecastCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forecast",
            abstract: "Say, per statement, the locks a migration will take and who holds a conflicting lock now.",
            discussion: """
                The SQL is parsed by PostgreSQL's own parser (libpg_query, PostgreSQL 15 grammar). Per statement: each relation lock and its mode, held until the statement or the transaction ends; rewrites and full scans under it, with the table's size; sessions that hold or wait for a conflicting lock right now; the recent rate of scans and writes on each relation; a verdict and the safer form. The migration's statements are never run: pgwarden only reads the catalog, pg_locks and pg_stat_user_tables on its own session.

                Examples:
                  pgwarden forecast --sql migration.sql
                  python manage.py sqlmigrate app 0042 | pgwarden forecast --sql -
                  pgwarden forecast --json --request-timeout 60s --alembic -c alembic.ini
                """
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("The migration's SQL; - reads standard input.", valueName: "file"))
        var sql: String?

        @Flag(help: "Forecast the pending Alembic revisions (offline mode); the arguments after it go to Alembic.")
        var alembic = false

        @Option(help: ArgumentHelp("Alembic's executable, with --alembic.", valueName: "path"))
        var alembicCommand = "alembic"

        @Flag(
            help: "The SQL runs as one transaction (psql --single-transaction, Flyway): every lock is held to its end."
        )
        var singleTransaction = false

        @Flag(help: "Print the forecast as JSON.")
        var json = false

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "The application's request timeout (uWSGI's harakiri), for the arithmetic.",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.positive)
        )
        var requestTimeout: DurationArgument?

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("How long to sample each relation's activity.", valueName: "duration"),
            transform: DurationArgument.parser(.positive)
        )
        var sample = DurationArgument("1s")

        @Argument(
            parsing: .captureForPassthrough,
            help: "Alembic's own arguments (-c FILE, -x KEY=VALUE), with --alembic."
        )
        var alembicArguments: [String] = []

        func validate() throws {
            guard (sql != nil) != alembic else { throw ValidationError("give exactly one of --sql FILE and --alembic") }
            if !alembic, !alembicArguments.isEmpty {
                throw ValidationError("unexpected arguments: \(alembicArguments.joined(separator: " "))")
            }
            guard sample.duration > .zero, sample.duration <= .seconds(30) else {
                throw ValidationError("--sample must be longer than zero and at most 30s")
            }
        }

        func run() async throws {
            var forecaster = MigrationForecaster(
                connectionString: connection.connectionString,
                sampling: sample.duration,
                requestTimeout: requestTimeout?.duration,
                logger: Logger(label: "pgwarden.forecast")
            )
            forecaster.singleTransaction = singleTransaction
            let script: String
            let source: String
            var warnings: [String] = []
            if let sql {
                script = try Self.read(sql)
                source = sql == "-" ? "standard input" : sql
            } else {
                let arguments = alembicArguments.first == "--" ? Array(alembicArguments.dropFirst()) : alembicArguments
                (script, source, warnings) = try await forecaster.alembicSQL(
                    executable: alembicCommand,
                    arguments: arguments
                )
            }
            let forecast = try await forecaster.forecast(script: script, source: source, warnings: warnings)
            if json {
                Terminal.printLine(forecast.json.serialized(pretty: true))
            } else {
                Terminal.printLine(ForecastRenderer(visible: Terminal.visible).render(forecast))
            }
        }

        /// The file's text, or standard input's for `-`.
        static func read(_ path: String) throws -> String {
            let data: Data
            if path == "-" {
                data = Data(DescriptorReading.readToEnd(0) ?? [])  // 0: standard input
            } else {
                guard let contents = FileManager.default.contents(atPath: path) else {
                    throw ForecastError(
                        "cannot read \(path)",
                        hint: "give a readable SQL file, or - for standard input"
                    )
                }
                data = contents
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ForecastError("\(path == "-" ? "standard input" : path) is not UTF-8 text")
            }
            return text
        }
    }
}
