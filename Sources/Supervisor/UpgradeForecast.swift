import Forecast
import ForecastInspection
import FoundationEssentials
import Logging
import WardenSupport

/// The forecast in `pgwarden upgrade`'s preflight: made when it can be (the command is Alembic's `upgrade`, or
/// `--forecast-sql FILE` names the migration's SQL), printed before anything changes, kept for the report.
enum UpgradeForecast {
    /// Makes and prints the forecast; returns it, or `nil` when none can be made. A forecast that fails is a
    /// warning: it never stops the run, and it never runs the migration's statements.
    static func run(_ settings: UpgradeSettings, log: RunLog, logger: Logger) async -> MigrationForecast? {
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
            } else {
                return nil
            }
            for line in ForecastRenderer(visible: visible).render(forecast).split(separator: "\n") {
                log.say("forecast: " + line)
            }
            return forecast
        } catch let error as any DiagnosableError {
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

    /// Other sessions' queries and the migration's SQL, as they may reach a terminal: through the
    /// one sanitiser of all terminal output.
    @Sendable static func visible(_ text: String) -> String {
        TerminalText.safe(text, layout: .multiLine)
    }
}
