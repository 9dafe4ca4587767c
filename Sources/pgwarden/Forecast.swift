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
                The SQL is parsed by PostgreSQL's own parser (libpg_query, PostgreSQL 15 grammar). Per statement: each relation lock and its mode, held until the statement or the transaction ends; rewrites and full scans under it, with the table's size; sessions that hold or wait for a conflicting lock right now; the recent rate of scans and writes on each relation; a verdict and the safer form. The locks come from a rehearsal: the statements run, in order and as the migration's session runs them, on a schema-only copy of the database (pg_dump --schema-only into a scratch database pgwarden_rehearsal_<run id> on the same server, or on --rehearse-dsn), and the rehearsal backend's own pg_locks is read after each; the copy is dropped. Static analysis of the parse tree covers what an empty copy cannot show (locks that depend on rows) and what the rehearsal could not run, said as such. The migration's statements never run on the real database: there pgwarden reads only the catalog, pg_locks and pg_stat_user_tables on its own session, and pg_dump takes AccessShareLocks with --lock-wait-timeout.

                Examples:
                  pgwarden forecast --sql migration.sql
                  python manage.py sqlmigrate app 0042 | pgwarden forecast --sql -
                  pgwarden forecast --json --request-timeout 60s --alembic -c alembic.ini
                  pgwarden forecast --django migrate shop 0003
                  pgwarden forecast --django .venv/bin/python manage.py migrate shop
                """
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(
            help: ArgumentHelp(
                "The migration's SQL; - reads standard input (required unless --alembic or --django).",
                valueName: "file"
            )
        )
        var sql: String?

        @Flag(help: "Forecast the pending Alembic revisions (offline mode); the arguments after it go to Alembic.")
        var alembic = false

        @Option(help: ArgumentHelp("Alembic's executable, with --alembic.", valueName: "path"))
        var alembicCommand = "alembic"

        @Flag(
            help: ArgumentHelp(
                "Forecast the migrations a Django migrate will run (migrate --plan, then sqlmigrate of each); the arguments after it are manage.py's (migrate [APP [TARGET]] [--settings S] [--database D], run with python3 manage.py), or the whole command (python manage.py migrate …)."
            )
        )
        var django = false

        @Flag(
            help: "The SQL runs as one transaction (psql --single-transaction, Flyway): every lock is held to its end."
        )
        var singleTransaction = false

        @Flag(help: "Print the forecast as JSON.")
        var json = false

        @Option(
            help: ArgumentHelp(
                "A server to rehearse on instead of the real one (its role may create databases; default: the real server).",
                valueName: "dsn"
            )
        )
        var rehearseDsn: String?

        @Option(
            help: ArgumentHelp(
                "The pg_dump that copies the schema (default: PGWARDEN_PG_DUMP, else the first of the server's major or newer).",
                valueName: "path"
            )
        )
        var pgDump: String?

        @Flag(help: "No rehearsal: static analysis only (no lock is certain, and it is said so).")
        var noRehearsal = false

        @Flag(
            help:
                "Measure this server's throughput again for the seconds, even when a measure of less than a day is kept."
        )
        var recalibrate = false

        @Option(
            name: .customLong("state-dir"),
            help: ArgumentHelp("Where the calibration is kept (default: pgwarden's state directory).", valueName: "dir")
        )
        var stateDirectory: String?

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "The application's request timeout (uWSGI's harakiri), for the arithmetic (default: none).",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.positive)
        )
        var requestTimeout: DurationArgument?

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("How long to sample each relation's activity (default: 1s).", valueName: "duration"),
            transform: DurationArgument.parser(.positive)
        )
        var sample = DurationArgument("1s")

        @Argument(
            parsing: .captureForPassthrough,
            help:
                "Alembic's own arguments (-c FILE, -x KEY=VALUE) with --alembic; manage.py's, or the whole command, with --django."
        )
        var toolArguments: [String] = []

        func validate() throws {
            // The pass-through argument takes every word it meets, --help and -h too: they are
            // pgwarden's unless after `--` (then Alembic's or Django's).
            if toolArguments.prefix(while: { $0 != "--" }).contains(where: {
                ["--help", "-h", "-help"].contains($0)
            }) {
                throw CleanExit.helpRequest(self)
            }
            guard [sql != nil, alembic, django].filter({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --sql FILE, --alembic and --django")
            }
            if sql != nil, !toolArguments.isEmpty {
                throw ValidationError("unexpected arguments: \(toolArguments.joined(separator: " "))")
            }
            if django, singleTransaction {
                throw ValidationError(
                    "--single-transaction does not apply to --django: each migration's own BEGIN and COMMIT say its transactions"
                )
            }
            guard sample.duration > .zero, sample.duration <= .seconds(30) else {
                throw ValidationError("--sample must be longer than zero and at most 30s")
            }
        }

        /// Alembic's or Django's arguments, without a leading `--`.
        var arguments: [String] { toolArguments.first == "--" ? Array(toolArguments.dropFirst()) : toolArguments }

        func run() async throws {
            var forecaster = MigrationForecaster(
                connectionString: connection.connectionString,
                sampling: sample.duration,
                requestTimeout: requestTimeout?.duration,
                logger: Logger(label: "pgwarden.forecast")
            )
            forecaster.singleTransaction = singleTransaction
            var calibrator = Calibrator(
                connectionString: connection.connectionString,
                stateDirectory: StateDirectory(path: stateDirectory),
                runID: Rehearser.newRunID(),
                logger: Logger(label: "pgwarden.calibration")
            )
            calibrator.recalibrate = recalibrate
            forecaster.calibrator = calibrator
            if !noRehearsal {
                var rehearser = Rehearser(
                    connectionString: connection.connectionString,
                    rehearseConnectionString: rehearseDsn,
                    runID: Rehearser.newRunID(),
                    logger: Logger(label: "pgwarden.rehearsal")
                )
                rehearser.pgDump = pgDump
                forecaster.rehearser = rehearser
            }
            let script: String
            let source: String
            var warnings: [String] = []
            var uncovered: [String] = []
            if let sql {
                script = try Self.read(sql)
                source = sql == "-" ? "standard input" : sql
            } else if django {
                let rendered = try await forecaster.djangoSQL(DjangoMigrate.forecastArguments(arguments))
                (script, source, warnings, uncovered) = (
                    rendered.sql, rendered.source, rendered.warnings, rendered.uncovered
                )
            } else {
                (script, source, warnings, uncovered) = try await forecaster.alembicSQL(
                    executable: alembicCommand,
                    arguments: arguments
                )
            }
            let forecast = try await forecaster.forecast(
                script: script,
                source: source,
                warnings: warnings,
                uncovered: uncovered
            )
            // Written a statement at a time: the text or JSON of a million statements is never held whole.
            if json {
                forecast.writeJSON(pretty: true) { bytes in
                    Terminal.printJSONText(bytes)
                    bytes.removeAll(keepingCapacity: true)
                }
                Terminal.printJSONText([0x0A])
            } else {
                ForecastRenderer(visible: Terminal.visible).render(forecast) { Terminal.printLine($0) }
            }
        }

        /// The file's text, or standard input's for `-`.
        static func read(_ path: String) throws -> String {
            let data: Data
            if path == "-" {
                data = Data(DescriptorReading.readToEnd(0) ?? [])  // 0: standard input
            } else {
                guard let contents = FileManager.default.contents(atPath: path) else {
                    throw OperatorError(
                        .forecast,
                        "cannot read \(path)",
                        hint: "give a readable SQL file, or - for standard input"
                    )
                }
                data = contents
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw OperatorError(.forecast, "\(path == "-" ? "standard input" : path) is not UTF-8 text")
            }
            return text
        }
    }
}
