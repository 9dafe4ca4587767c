import ConfigFile
import FoundationEssentials
import Reload
import WardenSupport
import Workers

extension UpgradeSettings {
    /// The keys of a `--config` file: the long flags, with `_` for `-`.
    package static let configKeys = [
        "dsn", "migration_dsn", "pause_workers", "crontab_user", "stop_workers", "grace", "reload", "uwsgi_fifo",
        "uwsgi_pidfile",
        "reload_command", "gunicorn_pidfile", "reload_timeout", "policy", "interactive", "lock_timeout",
        "max_lock_wait", "retries",
        "retry_delay", "app_name_match", "request_timeout", "report", "state_dir", "command", "ssh_config",
        "remote_pgwarden", "connect_timeout", "remote_step_timeout", "remote_resume_retry", "parallel_hosts",
    ]

    /// Settings read from a `--config` file, before flags are applied over them.
    ///
    /// - Throws: ``ConfigFile/ConfigError`` naming the line and key of the first mistake.
    package static func fromConfigFile(_ path: String) throws(ConfigError) -> UpgradeSettings {
        let document = try ConfigDocument(contentsOfFile: path, describedAs: "config file")
        if let table = document.tables.values.first
            ?? document.arrayTables.first(where: { !["workers", "app_servers"].contains($0.key) })?.value.first
        {
            throw ConfigError(
                file: path,
                line: table.line,
                "[\(table.name)] is not used in an upgrade config (its tables: [[workers]], [[app_servers]])"
            )
        }
        var reader = ConfigTableReader(document.root, file: path)
        var settings = UpgradeSettings(command: try reader.strings("command") ?? [])
        settings.connectionString = try reader.string("dsn")
        settings.migrationConnectionString = try reader.string("migration_dsn")
        settings.pausePatterns = try reader.strings("pause_workers") ?? []
        settings.crontabUser = try reader.string("crontab_user")
        if let stop = try reader.string("stop_workers") {
            guard let mode = StopMode(rawValue: stop) else {
                throw reader.error("stop_workers", "expected none, term or drain")
            }
            settings.stopWorkers = mode
        }
        if let scope = try reader.string("stop_scope") {
            guard let value = StopScope(rawValue: scope) else {
                throw reader.error("stop_scope", "expected cron or user")
            }
            settings.stopScope = value
        }
        settings.grace = try reader.duration("grace") ?? settings.grace
        if let when = try reader.string("reload") {
            guard let value = ReloadWhen(rawValue: when) else {
                throw reader.error("reload", "expected before, after or none")
            }
            settings.reloadWhen = value
        }
        settings.reloadStrategy = try reloadStrategy(&reader)
        settings.reloadTimeout = try reader.duration("reload_timeout") ?? settings.reloadTimeout
        settings.policyPath = try reader.string("policy")
        settings.interactive = try reader.bool("interactive")
        settings.lockTimeout = try reader.duration("lock_timeout", in: .lockTimeout)
        settings.maxLockWait = try reader.duration("max_lock_wait")
        settings.retries = try reader.integer("retries", in: 0...maximumRetries) ?? 0
        settings.retryDelay = try reader.duration("retry_delay", in: .zeroOrMore) ?? settings.retryDelay
        settings.appNameMatch = try reader.string("app_name_match")
        settings.requestTimeout = try reader.duration("request_timeout")
        settings.reportPath = try reader.string("report")
        settings.stateDirectory = try reader.string("state_dir")
        try settings.fleet.read(&reader)
        try reader.finish()
        try settings.readDeployment(document, root: reader)
        settings.fleet.workerHosts = try FleetSettings.hosts(document, of: "workers")
        for (index, host) in try FleetSettings.hosts(document, of: "app_servers").enumerated() {
            settings.appServers[index].host = host
            try settings.checkArgumentLength(of: index, document)
        }
        return settings
    }

    /// `[[workers]]` and `[[app_servers]]`: each replaces the root keys of the one-crontab, one-app-server case,
    /// which may then not be given beside it.
    private mutating func readDeployment(_ document: ConfigDocument, root: ConfigTableReader) throws(ConfigError) {
        workerSets = try DeploymentFile.workerSets(document)
        if !workerSets.isEmpty {
            for key in ["pause_workers", "crontab_user", "stop_workers", "stop_scope", "grace"]
            where document.root.entries.contains(where: { $0.key == key }) {
                throw root.error(key, "give it in a [[workers]] entry of kind crontab, not beside [[workers]]")
            }
        }
        // The first crontab set is today's: preflight, the dry run and its journal in the state directory itself.
        let hosts = try FleetSettings.hosts(document, of: "workers")
        try DeploymentFile.refuseOverlaps(workerSets, hosts: hosts, document)
        let local = workerSets.indices.filter { hosts[$0] == nil }.map { workerSets[$0] }
        if let set = local.lazy.compactMap({ if case .crontab(let set) = $0 { set } else { nil } }).first {
            pausePatterns = set.match
            crontabUser = set.user
            stopWorkers = set.stop
            stopScope = set.scope
            grace = set.grace
        }
        appServers = try DeploymentFile.appServers(document)
        if !appServers.isEmpty {
            for key in ["uwsgi_fifo", "uwsgi_pidfile", "reload_command", "gunicorn_pidfile"]
            where document.root.entries.contains(where: { $0.key == key }) {
                throw root.error(key, "give it in an [[app_servers]] entry, not beside [[app_servers]]")
            }
        }
    }

    /// An app server's reload must fit in what the kernel passes (E2BIG at run time otherwise): refused here,
    /// before anything runs. Through ssh, the whole remote command is one `sh -c` argument on the host, its
    /// timeout counted at its longest (`--reload-timeout` may change it after the file is read); here, each word.
    private func checkArgumentLength(of index: Int, _ document: ConfigDocument) throws(ConfigError) {
        let server = appServers[index]
        let length: Int
        if let host = server.host {
            let arguments = RunExecution.remoteReloadArguments(server.strategy, timeout: .seconds(Int64(Int32.max)))
            length = fleet.runner(host).command.remoteLength(arguments)
        } else if case .command(let words, _) = server.strategy {
            length = words.map(\.utf8.count).max() ?? 0
        } else {
            return
        }
        guard length > RemoteCommand.maximumRemoteLength else { return }
        let table = (document.arrayTables["app_servers"] ?? [])[index]
        let reader = ConfigTableReader(table, file: document.file, context: "app_servers[\(index + 1)]")
        let key =
            switch server.strategy {
            case .command: "reload"
            case .fifo: "fifo"
            case .pidfile, .gunicornPidfile: "pidfile"
            }
        let route = server.host.map { "to send to \(TerminalText.safe($0)) through ssh" } ?? "for one argument"
        throw reader.error(
            key,
            "is too long \(route): \(length) bytes, at most \(RemoteCommand.maximumRemoteLength) (Linux's MAX_ARG_STRLEN)"
        )
    }

    /// The app server reload the file asks for: `uwsgi_fifo`, `uwsgi_pidfile`, `reload_command` (with a pidfile or
    /// not), or `gunicorn_pidfile` alone.
    private static func reloadStrategy(_ reader: inout ConfigTableReader) throws(ConfigError) -> UWSGIReload.Strategy? {
        let fifo = try reader.string("uwsgi_fifo")
        let pidfile = try reader.string("uwsgi_pidfile")
        let command = try reader.string("reload_command")
        if let gunicorn = try reader.string("gunicorn_pidfile") {
            guard fifo == nil, pidfile == nil, command == nil else {
                throw reader.error("gunicorn_pidfile", "goes alone: give one app server to reload")
            }
            return .gunicornPidfile(path: gunicorn)
        }
        switch (fifo, pidfile, command) {
        case (nil, nil, nil): return nil
        case (let fifo?, nil, nil): return .fifo(path: fifo)
        case (nil, let pidfile?, nil): return .pidfile(path: pidfile)
        case (nil, let pidfile, let command?):
            guard let words = CommandLineWords.split(command), !words.isEmpty else {
                throw reader.error("reload_command", "has an unclosed quote, or is empty")
            }
            return .command(arguments: words, pidfile: pidfile)
        default:
            throw reader.error(
                "uwsgi_fifo",
                "give one of uwsgi_fifo, uwsgi_pidfile, gunicorn_pidfile or reload_command"
            )
        }
    }
}
