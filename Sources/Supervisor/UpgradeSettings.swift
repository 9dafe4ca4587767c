import Policy
import Reload
import Workers

/// Everything `pgwarden upgrade` is told: from flags, from `--config`, or both (flags win).
package struct UpgradeSettings: Sendable {
    /// When to reload uWSGI.
    package enum ReloadWhen: String, Sendable, CaseIterable {
        case before, after, none
    }

    /// The migration command and its arguments.
    package var command: [String]
    /// pgwarden's own connection (`--dsn`): the watcher's role. Never handed to the migration.
    package var connectionString: String?
    /// `--migration-dsn`: the migration's connection, handed to it as libpq's environment variables; without it
    /// the migration keeps the operator's environment.
    package var migrationConnectionString: String?
    /// `--pause-workers` expressions.
    package var pausePatterns: [String] = []
    /// Whose crontab (default: the current user).
    package var crontabUser: String?
    /// What to do with running workers.
    package var stopWorkers: StopMode = .none
    /// Which running processes `stopWorkers` acts on.
    package var stopScope: StopScope = .cron
    /// How long stopping workers may take at each stage.
    package var grace: Duration = .seconds(30)
    /// How to reload uWSGI, if at all.
    package var reloadStrategy: UWSGIReload.Strategy?
    /// Before or after the migration; `nil` means before when a target is given.
    package var reloadWhen: ReloadWhen?
    /// How long a reload may take.
    package var reloadTimeout: Duration = .seconds(120)
    /// The blocker policy applied while the migration runs.
    package var policyPath: String?
    /// Offer cancellation at a prompt; `nil` means when standard input is a terminal.
    package var interactive: Bool?
    /// Handed to the migration's sessions through `PGOPTIONS`.
    package var lockTimeout: Duration?
    /// A wait of the migration longer than this cancels its statement.
    package var maxLockWait: Duration?
    /// Runs again after a lock timeout or a lock-wait cancel.
    package var retries = 0
    /// The most `retries` may say.
    package static let maximumRetries = 100
    /// Pause between attempts.
    package var retryDelay: Duration = .seconds(5)
    /// How to recognise the migration's sessions when its code sets its own `application_name` (a glob).
    package var appNameMatch: String?
    /// The application's request timeout (uWSGI's harakiri): warn when the queue behind the migration nears it.
    package var requestTimeout: Duration?
    /// Measure the server's throughput again for the forecast's seconds (`--recalibrate`).
    package var recalibrate = false
    /// The migration's SQL, for the preflight forecast when the command is not Alembic's (`--forecast-sql`).
    package var forecastSQL: String?
    /// `--rehearse-dsn`: the server the forecast's rehearsal makes its schema-only copy on, instead of the real one.
    package var rehearseConnectionString: String?
    /// `--audit-log`: every action of the run as a JSON line, besides `upgrade-audit.jsonl` in the state directory.
    package var auditLogPath: String?
    /// Where to write the JSON report.
    package var reportPath: String?
    /// The state directory.
    package var stateDirectory: String?
    /// Print the plan, change nothing.
    package var dryRun = false
    /// How often the monitor polls.
    package var interval: Duration = .milliseconds(250)

    /// `[[workers]]` of a deployment file, in order; empty: the one crontab set of the flags, if any.
    package var workerSets: [WorkerSetSpec] = []
    /// `[[app_servers]]` of a deployment file, in order; empty: the one of the flags, if any.
    package var appServers: [AppServerSpec] = []
    /// How the other hosts are reached, and each set's host.
    package var fleet = FleetSettings()

    /// Creates settings for `command`.
    package init(command: [String]) {
        self.command = command
    }

    /// Whether and when to reload, with the default: before, when a target is given.
    package var effectiveReloadWhen: ReloadWhen {
        guard reloadStrategy != nil else { return .none }
        return reloadWhen ?? .before
    }

    /// The worker sets of the run, in order: `[[workers]]`, or the one crontab set of the flags.
    package var effectiveWorkerSets: [WorkerSetSpec] {
        if !workerSets.isEmpty { return workerSets }
        guard !pausePatterns.isEmpty else { return [] }
        return [
            .crontab(
                CrontabSetSpec(
                    user: crontabUser,
                    match: pausePatterns,
                    stop: stopWorkers,
                    scope: stopScope,
                    grace: grace
                )
            )
        ]
    }

    /// The index in ``effectiveWorkerSets`` of the crontab set journaled in the state directory itself (as
    /// before deployment files): the first crontab set. The others each have a directory of their own.
    package var primaryCrontabSet: Int? {
        effectiveWorkerSets.indices.first {
            if case .crontab = effectiveWorkerSets[$0], fleet.host(ofSet: $0) == nil { true } else { false }
        }
    }

    /// The app servers of the run with when each is reloaded: `[[app_servers]]`, or the one of the flags.
    package var effectiveAppServers: [(server: AppServerSpec, when: ReloadWhen)] {
        let servers = appServers.isEmpty ? reloadStrategy.map { [AppServerSpec(strategy: $0)] } ?? [] : appServers
        return servers.map { ($0, $0.reload ?? reloadWhen ?? .before) }.filter { $0.when != .none }
    }
}

/// One `[[app_servers]]` entry: how it is reloaded, and when (`nil`: the run's `reload`).
package struct AppServerSpec: Sendable {
    package var strategy: UWSGIReload.Strategy
    package var reload: UpgradeSettings.ReloadWhen?
    /// For the log and the report: `uWSGI`, `gunicorn`, `command systemctl`.
    package var name: String
    /// The host whose pgwarden reloads it (through ssh); `nil`: here.
    package var host: String?

    package init(strategy: UWSGIReload.Strategy, reload: UpgradeSettings.ReloadWhen? = nil, name: String? = nil) {
        self.strategy = strategy
        self.reload = reload
        self.name = name ?? strategy.appServer
    }
}
