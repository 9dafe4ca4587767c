import ArgumentParser
import Logging
import Reload
import Supervisor
import WardenSupport
import Workers

extension UpgradeSettings.ReloadWhen: ExpressibleByArgument {}

extension PGWarden {
    /// `pgwarden upgrade`: the supervised migration.
    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upgrade",
            abstract:
                "Run a migration the way a careful DBA would: workers paused, uWSGI reloaded, lock waits resolved.",
            discussion: """
                Order of a run: preflight (connect, privileges, current blockers, the crontab lines and processes that would be paused) → journal → pause workers → reload if `before` → run COMMAND with PGAPPNAME=pgwarden-migration-<run id> → watch its lock waits, their blockers and the queue behind it, and act by policy or by your answer → reload if `after` → resume workers (always) → post-checks (alembic_version, django_migrations, INVALID indexes) → report.

                The forecast in preflight is made when the command is Alembic's upgrade or Django's migrate (python manage.py migrate [APP [TARGET]], ./manage.py migrate, python3 -m django migrate, django-admin migrate), or from --forecast-sql FILE. When Django's migrate --plan refuses the command itself (no manage.py, an unknown app or migration), the run stops there with one error line: nothing has changed.

                A pgwarden guard leaves alone the sessions of a migration that a pgwarden upgrade supervises: the upgrade claims them in the database, and the guard trusts a claim only from a role in [protect] upgrade_roles (default: its own role), checked by pid and backend start; a session named pgwarden-migration-* gains nothing by its name. The upgrade's own session holds the claims (named pgwarden-upgrade-<run id>, which the guard's audit records as "by": "upgrade <run id>"); they end with it. When the migration's statement is cancelled or its session terminated by another session, the log says so at once.

                Exit status: the command's own; 128+N when interrupted by signal N; 70 when pgwarden itself failed after the command ran. SIGHUP does not stop the run; SIGINT/SIGTERM stop the migration's process group, then restore the workers. After a crash: pgwarden recover.

                Examples:
                  pgwarden upgrade --pause-workers app-cli --crontab-user app \\
                      --stop-workers term --uwsgi-fifo /run/uwsgi/app.fifo \\
                      --policy policy.toml --report run.json \\
                      -- .ve/bin/alembic upgrade head
                  pgwarden upgrade --dry-run --pause-workers app-cli -- alembic upgrade head
                  pgwarden upgrade --policy policy.toml -- .venv/bin/python manage.py migrate
                """
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(
            name: .customLong("migration-dsn"),
            help: ArgumentHelp(
                "The migration's connection, handed to it as libpq's environment (PGHOST, PGUSER, …); default: the migration keeps your environment, never --dsn's role or password.",
                valueName: "conninfo"
            )
        )
        var migrationDSN: String?

        @Option(
            name: .customLong("pause-workers"),
            help: ArgumentHelp("Crontab commands to pause (regex, repeatable; default: none).", valueName: "regex")
        )
        var pausePatterns: [String] = []

        @Option(
            name: .customLong("crontab-user"),
            help: ArgumentHelp("Whose crontab (default: the current user).", valueName: "user")
        )
        var crontabUser: String?

        @Option(name: .customLong("stop-workers"), help: "Running workers: none, term or drain (default: none).")
        var stopWorkers: StopMode?

        @Option(
            name: .customLong("stop-scope"),
            help:
                "Which processes --stop-workers acts on: cron (started by cron, with their trees and sessions) or user (default: cron)."
        )
        var stopScope: StopScope?

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "How long stopping workers may take at each stage (default: 30s).",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.positive)
        )
        var grace: DurationArgument?

        @Option(
            help: "Reload uWSGI before or after the migration, or not at all (default: before, when a target is given)."
        )
        var reload: UpgradeSettings.ReloadWhen?

        @OptionGroup var reloadTarget: ReloadTargetOptions

        @Option(
            help: ArgumentHelp(
                "Blocker policy applied while the migration runs (same format as guard; default: none).",
                valueName: "file"
            )
        )
        var policy: String?

        @Flag(inversion: .prefixedNo, help: "Offer cancellation at a prompt (default: when stdin is a terminal).")
        var interactive: Bool?

        @Option(
            name: .customLong("lock-timeout"),
            parsing: .unconditional,
            help: ArgumentHelp(
                "lock_timeout for the migration's sessions, through PGOPTIONS; at least 1ms, since PostgreSQL reads 0 as none (default: the server's).",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.lockTimeout)
        )
        var lockTimeout: DurationArgument?

        @Option(
            name: .customLong("max-lock-wait"),
            parsing: .unconditional,
            help: ArgumentHelp(
                "Cancel the migration's statement after waiting this long on one lock (default: no limit).",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.positive)
        )
        var maxLockWait: DurationArgument?

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "Run the command again after a lock timeout or a lock-wait cancel, at most this often (0 to \(UpgradeSettings.maximumRetries); default: 0).",
                valueName: "count"
            ),
            transform: CountArgument.parser(0...UpgradeSettings.maximumRetries)
        )
        var retries: Int?

        @Option(
            name: .customLong("retry-delay"),
            parsing: .unconditional,
            help: ArgumentHelp("Pause between attempts (default: 5s).", valueName: "duration"),
            transform: DurationArgument.parser(.zeroOrMore)
        )
        var retryDelay: DurationArgument?

        @Option(
            name: .customLong("app-name-match"),
            help: ArgumentHelp(
                "The migration's application_name, when its code sets its own (glob; default: the one pgwarden gives it).",
                valueName: "pattern"
            )
        )
        var appNameMatch: String?

        @Option(
            name: .customLong("request-timeout"),
            parsing: .unconditional,
            help: ArgumentHelp(
                "The application's request timeout (uWSGI harakiri): warn when the queue nears it (default: none).",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.positive)
        )
        var requestTimeout: DurationArgument?

        @Flag(
            help:
                "Measure the server's throughput again for the forecast's seconds (else a measure of under a day is kept)."
        )
        var recalibrate = false

        @Option(
            help: ArgumentHelp(
                "Forecast this SQL in preflight (default: Alembic's or Django's own, when the command is Alembic's upgrade or Django's migrate).",
                valueName: "file"
            )
        )
        var forecastSQL: String?

        @Option(
            help: ArgumentHelp(
                "Rehearse the forecast on this server instead of the real one (default: the real server, when pgwarden's role may create databases).",
                valueName: "dsn"
            )
        )
        var rehearseDsn: String?

        @Option(help: ArgumentHelp("Write the JSON report of the run here (default: none).", valueName: "file"))
        var report: String?

        @Option(
            help: ArgumentHelp(
                "Append every action (policy, --max-lock-wait, your answers) as a JSON line here, besides upgrade-audit.jsonl in the state directory (default: none).",
                valueName: "file"
            )
        )
        var auditLog: String?

        @Option(name: .customLong("state-dir"), help: ArgumentHelp(stateDirectoryHelp, valueName: "dir"))
        var stateDirectory: String?

        @Flag(help: "Log times in the local time zone, with its offset (default: UTC, written with Z).")
        var localTime = false

        @Flag(name: .customLong("dry-run"), help: "Print the plan; change nothing.")
        var dryRun = false

        @Option(help: ArgumentHelp("The same settings from a TOML file (flags win; default: none).", valueName: "file"))
        var config: String?

        @Argument(
            parsing: .postTerminator,
            help: ArgumentHelp("The migration command, after --.", valueName: "command")
        )
        var command: [String] = []

        func validate() throws {
            if command.isEmpty && config == nil { throw ValidationError("give the migration command after --") }
            _ = try reloadTarget.strategy()
            for pattern in pausePatterns where (try? WorkerPattern(pattern)) == nil {
                throw ValidationError(
                    "--pause-workers '\(TerminalText.value(pattern))' is not a valid regular expression"
                )
            }
        }

        func settings() throws -> UpgradeSettings {
            var settings = try config.map(UpgradeSettings.fromConfigFile) ?? UpgradeSettings(command: [])
            if !command.isEmpty { settings.command = command }
            if !settings.workerSets.isEmpty,
                !pausePatterns.isEmpty || crontabUser != nil || stopWorkers != nil || stopScope != nil || grace != nil
            {
                throw ValidationError(
                    "the config file's [[workers]] name every worker set: --pause-workers, --crontab-user, --stop-workers,"
                        + " --stop-scope and --grace go in its crontab entries"
                )
            }
            if !settings.appServers.isEmpty, try reloadTarget.strategy() != nil {
                throw ValidationError("the config file's [[app_servers]] name every app server: give none by flags")
            }
            guard !settings.command.isEmpty else { throw ValidationError("give the migration command after --") }
            if let value = connection.connectionString { settings.connectionString = value }
            if let migrationDSN { settings.migrationConnectionString = migrationDSN }
            if !pausePatterns.isEmpty { settings.pausePatterns = pausePatterns }
            if let crontabUser { settings.crontabUser = crontabUser }
            if let stopWorkers { settings.stopWorkers = stopWorkers }
            if let stopScope { settings.stopScope = stopScope }
            if let grace { settings.grace = grace.duration }
            if let reload { settings.reloadWhen = reload }
            if let strategy = try reloadTarget.strategy() { settings.reloadStrategy = strategy }
            if let policy { settings.policyPath = policy }
            if let interactive { settings.interactive = interactive }
            if let lockTimeout { settings.lockTimeout = lockTimeout.duration }
            if let maxLockWait { settings.maxLockWait = maxLockWait.duration }
            if let retries { settings.retries = retries }
            if let retryDelay { settings.retryDelay = retryDelay.duration }
            if let appNameMatch { settings.appNameMatch = appNameMatch }
            settings.fleet.localVersion = PGWarden.version
            if let requestTimeout { settings.requestTimeout = requestTimeout.duration }
            if let report { settings.reportPath = report }
            if let forecastSQL { settings.forecastSQL = forecastSQL }
            if let rehearseDsn { settings.rehearseConnectionString = rehearseDsn }
            if let auditLog { settings.auditLogPath = auditLog }
            if let stateDirectory { settings.stateDirectory = stateDirectory }
            if recalibrate { settings.recalibrate = true }
            settings.dryRun = dryRun
            return settings
        }

        func run() async throws {
            let supervisor = Supervisor(
                settings: try settings(),
                log: RunLog(localTime: localTime),
                logger: Logger(label: "pgwarden.upgrade")
            )
            let status = try await supervisor.run(interactiveDefault: Terminal.standardInputIsTerminal)
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// `pgwarden recover`: after a crash of the supervisor.
    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recover",
            abstract:
                "After a crash: restore what the journal says is still paused; report the migration's last known state.",
            discussion: """
                For a run whose supervisor died (kill -9, a crash, a reboot): the crontab is restored byte for byte from the journal, and pgwarden says whether the migration is still running. While it still runs the workers stay paused (exit status 3) unless --resume-anyway. With --stop-migration, a migration still running is stopped first (SIGTERM to its process group, SIGKILL after 10 s; only when its pid and start time are the journal's), and the run's sessions are terminated (--dsn names the server).

                Example:
                  pgwarden status && pgwarden recover
                """
        )

        @Option(name: .customLong("state-dir"), help: ArgumentHelp(stateDirectoryHelp, valueName: "dir"))
        var stateDirectory: String?

        @Flag(
            name: .customLong("stop-migration"),
            help:
                "Stop a migration still running (checked by pid and start time), terminate its sessions, then restore the workers."
        )
        var stopMigration = false

        @OptionGroup var connection: ConnectionOptions

        @Flag(
            name: .customLong("resume-anyway"),
            help:
                "Resume the workers even while the run's migration still runs (default: they stay paused until it ends)."
        )
        var resumeAnyway = false

        func run() async throws {
            let answer = try await Recovery(stateDirectory: stateDirectory, logger: Logger(label: "pgwarden.recover"))
                .recover(
                    stopMigration: stopMigration,
                    resumeAnyway: resumeAnyway,
                    connectionString: connection.connectionString
                )
            answer.lines.forEach(Terminal.printLine)
            if answer.status != 0 { throw ExitCode(answer.status) }
        }
    }

    /// `pgwarden status`: the current or last run.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the current or last run, from the journal.",
            discussion: """
                Without --state-dir and with no run in the default one, the crontabs pgwarden can read are searched for its pause markers, and the state directory that paused each is named.

                Exit status: 0 nothing to do (no run, a run in progress, the last run succeeded); 2 the last run did not succeed; 3 something needs pgwarden recover (an interrupted run, pauses under another state directory).
                """
        )

        @Option(name: .customLong("state-dir"), help: ArgumentHelp(stateDirectoryHelp, valueName: "dir"))
        var stateDirectory: String?

        func run() async throws {
            let answer = try await Recovery(stateDirectory: stateDirectory, logger: Logger(label: "pgwarden.status"))
                .status()
            answer.lines.forEach(Terminal.printLine)
            if answer.status != 0 { throw ExitCode(answer.status) }
        }
    }
}

/// `--state-dir`'s help, with its default.
let stateDirectoryHelp =
    "The journal's directory (default: /var/lib/pgwarden for root, else $XDG_STATE_HOME/pgwarden or ~/.local/state/pgwarden)."
