import FoundationEssentials
import WardenSupport

/// `supervisorctl`, for one supervisord: its programs' states, and stop and start (each waits, as
/// supervisorctl does: a stop for supervisord's stop signal and the program's `stopwaitsecs`, a start for
/// `startsecs`).
package struct SupervisorControl: Sendable {
    package let spec: SupervisorSetSpec

    package init(_ spec: SupervisorSetSpec) {
        self.spec = spec
    }

    /// A program as `supervisorctl status` lists it.
    package struct Program: Sendable, Equatable {
        /// `name` or `group:name`.
        package var name: String
        /// `RUNNING`, `STOPPED`, `STARTING`, `BACKOFF`, `STOPPING`, `EXITED`, `FATAL`, `UNKNOWN`.
        package var state: String
    }

    /// The states `supervisorctl status` prints.
    static let states: Set<String> = [
        "STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN",
    ]

    /// Whether `name` is a program name a set may give: `name`, `group:name` or `group:*`.
    package static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return false }
        return name.allSatisfy { !$0.isWhitespace && !$0.isNewline && $0 != "/" } && !name.hasPrefix("-")
    }

    /// The arguments before the action: `-c config`, `-s serverurl`.
    var baseArguments: [String] {
        var arguments: [String] = []
        if let config = spec.config { arguments += ["-c", config] }
        if let socket = spec.socket { arguments += ["-s", socket.contains("://") ? socket : "unix://" + socket] }
        return arguments
    }

    /// Runs `supervisorctl … arguments`.
    func run(_ arguments: [String]) async throws(WorkersError) -> BoundedCommand.Result {
        try await BoundedCommand([spec.executable] + baseArguments + arguments, timeout: spec.timeout).run()
    }

    /// Every program supervisord knows, with its state.
    package func status() async throws(WorkersError) -> [Program] {
        let result = try await run(["status"])
        let programs = Self.parseStatus(result.output)
        // supervisorctl exits 3 when some program is not running: the listing is what tells.
        guard !result.timedOut, !programs.isEmpty || result.status == 0 else {
            let why = result.output.last { !$0.trimmedOfWhitespace.isEmpty } ?? result.description
            throw WorkersError(.commandFailed, "supervisorctl status failed: \(Redaction.redact(why))")
        }
        return programs
    }

    /// The programs of `supervisorctl status` output lines: `name  STATE  detail`.
    package static func parseStatus(_ lines: [String]) -> [Program] {
        lines.compactMap { line in
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count >= 2, states.contains(String(words[1])) else { return nil }
            return Program(name: String(words[0]), state: String(words[1]))
        }
    }

    /// The programs `requested` names among `programs` (`group:*` its group; `name` the program, or the
    /// group of that name); throws naming one that names none.
    package static func resolve(_ requested: [String], in programs: [Program]) throws(WorkersError) -> [Program] {
        var found: [Program] = []
        for name in requested {
            let matching: [Program]
            if name.hasSuffix(":*") {
                let prefix = String(name.dropLast())
                matching = programs.filter { $0.name.hasPrefix(prefix) }
            } else {
                let exact = programs.filter { $0.name == name }
                matching = exact.isEmpty ? programs.filter { $0.name.hasPrefix(name + ":") } : exact
            }
            guard !matching.isEmpty else {
                throw WorkersError(.workerSet, "supervisord has no program or group \(name)")
            }
            found += matching.filter { program in !found.contains { $0.name == program.name } }
        }
        return found
    }

    /// `supervisorctl stop` or `start` of `names`; then their states, checked to be `wanted`.
    func change(_ action: String, _ names: [String], wanted: Set<String>) async throws(WorkersError) {
        guard !names.isEmpty else { return }
        let result = try await run([action] + names)
        let states = try await status().filter { names.contains($0.name) }
        let wrong = states.filter { !wanted.contains($0.state) }
        guard wrong.isEmpty, states.count == names.count else {
            let said = wrong.map { "\($0.name) \($0.state)" }.joined(separator: ", ")
            let output = result.output.last.map { ": " + Redaction.redact($0) } ?? ""
            throw WorkersError(
                .commandFailed,
                "supervisorctl \(action) (\(result.description)) left \(said.isEmpty ? "programs missing" : said)\(output)"
            )
        }
    }
}
