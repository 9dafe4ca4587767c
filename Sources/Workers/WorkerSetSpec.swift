import FoundationEssentials
import WardenSupport

/// One `[[workers]]` entry of a deployment file: a set of workers paused and resumed as one.
package enum WorkerSetSpec: Sendable, Equatable, Codable {
    /// A user's crontab lines (today's `--pause-workers`), byte for byte as before.
    case crontab(CrontabSetSpec)
    /// Programs or groups of a supervisord, through `supervisorctl`.
    case supervisor(SupervisorSetSpec)
    /// Any other tool: argv arrays, never a shell.
    case command(CommandSetSpec)

    /// `crontab`, `supervisor` or `command`.
    package var kind: String {
        switch self {
        case .crontab: "crontab"
        case .supervisor: "supervisor"
        case .command: "command"
        }
    }

    /// For messages: `crontab of app (app-cli)`, `supervisor app-worker:*`, `command kubectl patch …`.
    package var summary: String {
        switch self {
        case .crontab(let set):
            "crontab of \(set.user ?? "the current user") (\(set.match.joined(separator: ", ")))"
        case .supervisor(let set): "supervisor \(set.programs.joined(separator: " "))"
        case .command(let set):
            "command \(set.pause.prefix(3).map(Self.shortened).joined(separator: " "))\(set.pause.count > 3 ? " …" : "")"
        }
    }

    /// A word of a command for a set's name: its first line, at most 40 characters, secrets redacted.
    private static func shortened(_ word: String) -> String {
        let line = word.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let short = line.count > 40 || line.count < word.count ? String(line.prefix(40)) + "…" : line
        return Redaction.redact(short)
    }
}

/// `kind = "crontab"`: as `--pause-workers`, `--crontab-user`, `--stop-workers`, `--stop-scope`, `--grace`.
package struct CrontabSetSpec: Sendable, Equatable, Codable {
    /// Whose crontab; `nil`: the current user.
    package var user: String?
    /// The `match` expressions.
    package var match: [String]
    package var stop: StopMode = .none
    package var scope: StopScope = .cron
    package var grace: Duration = .seconds(30)

    package init(
        user: String?,
        match: [String],
        stop: StopMode = .none,
        scope: StopScope = .cron,
        grace: Duration = .seconds(30)
    ) {
        self.user = user
        self.match = match
        self.stop = stop
        self.scope = scope
        self.grace = grace
    }
}

/// `kind = "supervisor"`: programs or groups (`name`, `group:*`, `group:name`) of one supervisord.
package struct SupervisorSetSpec: Sendable, Equatable, Codable {
    package var programs: [String]
    /// `supervisorctl -s`: the server URL (`unix:///run/supervisor.sock`); `nil`: supervisorctl's own default.
    package var socket: String?
    /// `supervisorctl -c`: the configuration file supervisorctl reads; `nil`: its own default.
    package var config: String?
    /// The `supervisorctl` program.
    package var executable = "supervisorctl"
    /// How long one `supervisorctl` may take (a stop waits for the program's `stopwaitsecs`).
    package var timeout: Duration = .seconds(120)

    package init(programs: [String], socket: String? = nil, config: String? = nil) {
        self.programs = programs
        self.socket = socket
        self.config = config
    }
}

/// `kind = "command"`: pause and resume argv arrays, an optional check (exit 0 while paused), a timeout.
package struct CommandSetSpec: Sendable, Equatable, Codable {
    package var pause: [String]
    package var resume: [String]
    package var check: [String]?
    package var timeout: Duration = .seconds(60)

    package init(pause: [String], resume: [String], check: [String]? = nil, timeout: Duration = .seconds(60)) {
        self.pause = pause
        self.resume = resume
        self.check = check
        self.timeout = timeout
    }
}
