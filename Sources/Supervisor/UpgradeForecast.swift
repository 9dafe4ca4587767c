import Forecast
import ForecastInspection
import FoundationEssentials
import Logging
import Postgres
import WardenSupport

/// The forecast in `pgwarden upgrade`'s preflight: made when it can be (the command is Alembic's `upgrade` or
/// Django's `migrate`, or `--forecast-sql FILE` names the migration's SQL), printed before anything changes, kept
/// for the report.
enum UpgradeForecast {
    /// Makes and prints the forecast; returns it, or `nil` when none can be made. A forecast that fails is a
    /// warning: it never stops the run, and it never runs the migration's statements.
    ///
    /// - Throws: ``OperatorError`` `migrationCommand` when the forecast shows the command cannot run as given
    ///   (Django's `migrate --plan` refuses it): nothing has changed yet, and the migration would fail.
    static func run(_ settings: UpgradeSettings, log: RunLog, logger: Logger) async throws -> MigrationForecast? {
        var forecaster = MigrationForecaster(
            connectionString: settings.connectionString,
            sampling: .seconds(1),
            requestTimeout: settings.requestTimeout,
            logger: logger
        )
        forecaster.rehearser = Rehearser(
            connectionString: settings.connectionString,
            rehearseConnectionString: settings.rehearseConnectionString,
            runID: Rehearser.newRunID(),
            logger: logger
        )
        var calibrator = Calibrator(
            connectionString: settings.connectionString,
            stateDirectory: StateDirectory(path: settings.stateDirectory),
            runID: Rehearser.newRunID(),
            logger: logger
        )
        calibrator.recalibrate = settings.recalibrate
        forecaster.calibrator = calibrator
        do {
            let forecast: MigrationForecast
            if let path = settings.forecastSQL {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw OperatorError(.forecast, "cannot read \(path)")
                }
                forecast = try await forecaster.forecast(script: String(decoding: data, as: UTF8.self), source: path)
            } else if let alembic = alembicInvocation(settings.command) {
                let rendered = try await forecaster.alembicSQL(
                    executable: alembic.executable,
                    arguments: alembic.arguments,
                    target: alembic.target
                )
                forecast = try await forecaster.forecast(
                    script: rendered.sql,
                    source: rendered.source,
                    warnings: rendered.warnings,
                    uncovered: rendered.uncovered
                )
            } else if let django = DjangoMigrate.recognise(settings.command) {
                let rendered = try await forecaster.djangoSQL(django, environment: djangoVariables(settings))
                forecast = try await forecaster.forecast(
                    script: rendered.sql,
                    source: rendered.source,
                    warnings: rendered.warnings,
                    uncovered: rendered.uncovered
                )
            } else {
                return nil
            }
            for line in ForecastRenderer(visible: visible).render(forecast).split(separator: "\n") {
                log.say("forecast: " + line)
            }
            return forecast
        } catch let error as any DiagnosableError {
            if let refused = error as? OperatorError, refused.code == .migrationCommand { throw refused }
            log.warn("no forecast: \(visible(error.summary))")
        } catch {
            log.warn("no forecast: \(visible(String(describing: error)))")
        }
        return nil
    }

    /// `…/alembic [OPTIONS] upgrade [TARGET] …`: the executable, the options before `upgrade`, and the target.
    static func alembicInvocation(_ command: [String]) -> (executable: String, arguments: [String], target: String)? {
        guard let executable = command.first, URL(fileURLWithPath: executable).lastPathComponent == "alembic",
            let upgrade = command.firstIndex(of: "upgrade")
        else { return nil }
        let target = command.dropFirst(upgrade + 1).first { !$0.hasPrefix("-") } ?? "head"
        return (executable, Array(command[1..<upgrade]), target)
    }

    /// Where Django's read-only commands connect: where the migration will (`--migration-dsn`, else `--dsn` without
    /// pgwarden's role, password and options: the run's own migration environment), else its own environment.
    static func djangoVariables(_ settings: UpgradeSettings) -> [String: String] {
        if let dsn = settings.migrationConnectionString, let variables = try? ConnectionEnvironment.variables(for: dsn)
        {
            return variables
        }
        guard let dsn = settings.connectionString, let variables = try? ConnectionEnvironment.variables(for: dsn) else {
            return [:]
        }
        return variables.filter { !RunExecution.watcherOnlyVariables.contains($0.key) }
    }

    /// Other sessions' queries and the migration's SQL, as they may reach a terminal: through the
    /// one sanitiser of all terminal output.
    @Sendable static func visible(_ text: String) -> String {
        TerminalText.safe(text, layout: .multiLine)
    }
}
