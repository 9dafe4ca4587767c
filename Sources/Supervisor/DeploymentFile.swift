import ConfigFile
import FoundationEssentials
import Reload
import WardenSupport
import Workers

/// The deployment part of a `--config` file: `[[workers]]` and `[[app_servers]]`. Every error names the
/// entry (`workers[2]`), its line and key; nothing in the file is ever run through a shell.
enum DeploymentFile {
    /// The keys of each `[[workers]]` kind.
    static let workerKeys: [String: [String]] = [
        "crontab": ["kind", "user", "match", "stop", "scope", "grace"],
        "supervisor": ["kind", "programs", "socket", "config", "timeout"],
        "command": ["kind", "pause", "resume", "check", "timeout"],
    ]

    /// The `[[workers]]` entries, in order.
    static func workerSets(_ document: ConfigDocument) throws(ConfigError) -> [WorkerSetSpec] {
        var sets: [WorkerSetSpec] = []
        for (index, table) in (document.arrayTables["workers"] ?? []).enumerated() {
            var reader = ConfigTableReader(table, file: document.file, context: "workers[\(index + 1)]")
            let kind = try reader.string("kind")
            switch kind {
            case "crontab": sets.append(.crontab(try crontab(&reader)))
            case "supervisor": sets.append(.supervisor(try supervisor(&reader)))
            case "command": sets.append(.command(try command(&reader)))
            default:
                throw reader.error(
                    "kind",
                    kind == nil ? "missing: crontab, supervisor or command" : "expected crontab, supervisor or command"
                )
            }
            try reader.finish(known: ["host"])  // FleetSettings reads it
        }
        return sets
    }

    private static func crontab(_ reader: inout ConfigTableReader) throws(ConfigError) -> CrontabSetSpec {
        guard let match = try reader.strings("match"), !match.isEmpty else {
            throw reader.error("match", "give the crontab commands to pause (regular expressions)")
        }
        for pattern in match where (try? WorkerPattern(pattern)) == nil {
            throw reader.error("match", "'\(TerminalText.value(pattern))' is not a valid regular expression")
        }
        var set = CrontabSetSpec(user: try reader.string("user"), match: match)
        if let stop = try reader.string("stop") {
            guard let mode = StopMode(rawValue: stop) else {
                throw reader.error("stop", "expected none, term or drain")
            }
            set.stop = mode
        }
        if let scope = try reader.string("scope") {
            guard let value = StopScope(rawValue: scope) else { throw reader.error("scope", "expected cron or user") }
            set.scope = value
        }
        set.grace = try reader.duration("grace") ?? set.grace
        return set
    }

    private static func supervisor(_ reader: inout ConfigTableReader) throws(ConfigError) -> SupervisorSetSpec {
        guard let programs = try reader.strings("programs"), !programs.isEmpty else {
            throw reader.error("programs", "give the programs or groups to stop (\"name\", \"group:*\")")
        }
        for program in programs where !SupervisorControl.isValidName(program) {
            throw reader.error(
                "programs",
                "'\(TerminalText.value(program))' is not a program name (name, group:name or group:*)"
            )
        }
        var set = SupervisorSetSpec(
            programs: programs,
            socket: try reader.string("socket"),
            config: try reader.string("config")
        )
        set.timeout = try reader.duration("timeout") ?? set.timeout
        return set
    }

    private static func command(_ reader: inout ConfigTableReader) throws(ConfigError) -> CommandSetSpec {
        let pause = try argv(&reader, "pause", required: true)!
        let resume = try argv(&reader, "resume", required: true)!
        var set = CommandSetSpec(pause: pause, resume: resume, check: try argv(&reader, "check", required: false))
        set.timeout = try reader.duration("timeout") ?? set.timeout
        return set
    }

    /// An argv array: never a string (a string would have to be split, as a shell would).
    private static func argv(
        _ reader: inout ConfigTableReader,
        _ key: String,
        required: Bool
    ) throws(ConfigError) -> [String]? {
        if case .string = reader.value(of: key) {
            throw reader.error(
                key,
                "expected an array of the program and its arguments, not a string (never run through a shell)"
            )
        }
        guard let words = try reader.strings(key) else {
            if required { throw reader.error(key, "missing: an array of the program and its arguments") }
            return nil
        }
        guard !words.isEmpty, !words[0].isEmpty else { throw reader.error(key, "is empty") }
        return words
    }

    /// The `[[app_servers]]` entries, in order.
    static func appServers(_ document: ConfigDocument) throws(ConfigError) -> [AppServerSpec] {
        var servers: [AppServerSpec] = []
        for (index, table) in (document.arrayTables["app_servers"] ?? []).enumerated() {
            var reader = ConfigTableReader(table, file: document.file, context: "app_servers[\(index + 1)]")
            let kind = try reader.string("kind")
            let strategy: UWSGIReload.Strategy
            var program: String?
            switch kind {
            case "uwsgi":
                switch (try reader.string("fifo"), try reader.string("pidfile")) {
                case (let fifo?, nil): strategy = .fifo(path: fifo)
                case (nil, let pidfile?): strategy = .pidfile(path: pidfile)
                default: throw reader.error("fifo", "give one of fifo or pidfile")
                }
            case "gunicorn":
                guard let pidfile = try reader.string("pidfile") else { throw reader.error("pidfile", "missing") }
                strategy = .gunicornPidfile(path: pidfile)
            case "command":
                guard let words = try argv(&reader, "reload", required: true) else {
                    throw reader.error("reload", "missing")
                }
                strategy = .command(arguments: words, pidfile: try reader.string("pidfile"))
                program = words[0]
            default:
                throw reader.error(
                    "kind",
                    kind == nil ? "missing: uwsgi, gunicorn or command" : "expected uwsgi, gunicorn or command"
                )
            }
            var server = AppServerSpec(
                strategy: strategy,
                name: program.map { "command \($0)" }
            )
            // `reload` is the argv of a command app server; for the others, and `when` for all: before or after.
            let whenKey = kind == "command" || table.entries.contains { $0.key == "when" } ? "when" : "reload"
            if let when = try reader.string(whenKey) {
                guard let value = UpgradeSettings.ReloadWhen(rawValue: when), value != .none else {
                    throw reader.error(whenKey, "expected before or after")
                }
                server.reload = value
            }
            try reader.finish(known: ["host"])  // FleetSettings reads it
            servers.append(server)
        }
        return servers
    }
}
