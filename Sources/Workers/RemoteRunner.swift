import FoundationEssentials
import WardenSupport

/// What a remote pgwarden answered to a `workers` step: one line `pgwarden-answer {json}` on its output.
package struct RemoteAnswer: Codable, Sendable, Equatable {
    /// The pause's id (chosen by the coordinator, so that a lost answer does not lose the pause).
    package var pauseID: String
    /// `paused`, `already-paused`, `resumed`, `not-paused` (never paused, or resumed already: by hand, say), `planned`.
    package var state: String
    /// What the host did, for the run log.
    package var said: [String]

    package init(pauseID: String, state: String, said: [String]) {
        self.pauseID = pauseID
        self.state = state
        self.said = said
    }

    /// The prefix of the answer's line.
    package static let prefix = "pgwarden-answer "
    /// The prefix of a host's one-line preflight answer (`workers set preflight`), kept out of what is shown too.
    package static let preflightPrefix = "pgwarden-preflight "

    /// The answer's line.
    package var line: String {
        let data = (try? JournalCoding.encode(self)) ?? Data()
        return Self.prefix + String(decoding: data, as: UTF8.self).split(separator: "\n").joined()
    }

    /// The last answer line among `lines`, if any.
    package static func find(in lines: [String]) -> RemoteAnswer? {
        for line in lines.reversed() where line.hasPrefix(prefix) {
            return try? JournalCoding.decode(RemoteAnswer.self, from: Data(line.dropFirst(prefix.count).utf8))
        }
        return nil
    }

    /// Whether `id` may name a pause (and its directory, `sets/ID`): starts with a digit, then letters, digits, `-`.
    package static func isValidPauseID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, ("0"..."9").contains(first), id.count <= 80 else { return false }
        return id.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
        }
    }
}

/// Runs one pgwarden step on another host through OpenSSH, within a per-step timeout; its output kept (sanitised
/// by the run log), the answer read from it. ssh's own failures (exit 255: unreachable, host key, refused) are told
/// apart from the remote pgwarden's.
package struct RemoteRunner: Sendable {
    package let command: RemoteCommand
    /// The longest one step may take, connection included.
    package let stepTimeout: Duration

    package init(_ command: RemoteCommand, stepTimeout: Duration = .seconds(120)) {
        self.command = command
        self.stepTimeout = stepTimeout
    }

    /// What came of a remote step.
    package struct Outcome: Sendable {
        /// The output, each line made safe for a terminal, the answer line left out.
        package var lines: [String]
        package var answer: RemoteAnswer?
        /// The output as it came, answer lines included (not for a terminal: each line goes through
        /// ``TerminalText/safe(_:layout:)`` before it is shown).
        package var output: [String] = []
    }

    /// Runs `pgwarden arguments…` on the host; throws naming the host and why when ssh or the step fails.
    package func run(_ arguments: [String]) async throws(WorkersError) -> Outcome {
        let result = try await BoundedCommand(command.argv(arguments), timeout: stepTimeout).run()
        let connected = result.output.contains { $0.hasPrefix(SSHLines.authenticated) }
        let lines = result.output.filter {
            !$0.hasPrefix(RemoteAnswer.prefix) && !$0.hasPrefix(RemoteAnswer.preflightPrefix) && !SSHLines.isOwn($0)
        }
        .map { TerminalText.safe($0) }
        let host = TerminalText.safe(command.destination)
        guard !result.timedOut else {
            throw WorkersError(
                .hostUnreachable,
                "\(host) did not answer within \(DurationSyntax.format(seconds: stepTimeout.seconds)) (step timeout)"
            )
        }
        let last =
            lines.last(where: { $0.hasPrefix("error: ") }) ?? lines.last(where: { !$0.isEmpty }) ?? result.description
        if result.status == 255, connected {
            // The session was up, and ended without the step's exit status: the pgwarden there was killed, or the
            // link dropped. The step may have been done there, or not: asking again says (each step is idempotent).
            throw WorkersError(
                .hostUnreachable,
                "the connection to \(host) was lost during the step (its pgwarden killed, or the link dropped)"
                    + (lines.isEmpty ? "" : ": \(Self.reason(last))")
            )
        }
        if result.status == 255 {
            throw WorkersError(.hostUnreachable, "cannot reach \(host) through ssh: \(Self.reason(last))")
        }
        guard result.status == 0 else {
            throw WorkersError(.remoteHost, "on \(host): \(Self.reason(last))")
        }
        return Outcome(lines: lines, answer: RemoteAnswer.find(in: result.output), output: result.output)
    }

    /// Checks that the host runs a pgwarden of the same minor version as `localVersion`.
    package func checkVersion(localVersion: String) async throws(WorkersError) {
        let outcome = try await run(["--version"])
        let line = outcome.lines.first { $0.hasPrefix("pgwarden ") } ?? outcome.lines.first ?? ""
        if let mismatch = RemoteVersion.mismatch(
            host: TerminalText.safe(command.destination),
            local: localVersion,
            remoteLine: line
        ) {
            throw WorkersError(.remoteHost, mismatch)
        }
    }

    /// A remote `error: …` line without its prefix; any other line as it is.
    private static func reason(_ line: String) -> String {
        line.hasPrefix("error: ") ? String(line.dropFirst(7)) : line
    }
}

extension OperatorError.Code {
    /// Another host could not be reached, or its pgwarden refused or failed a step.
    package static let remoteHost = Self("remoteHost")
    /// ssh could not reach another host (exit 255: refused, timed out, host key), or the step timed out.
    package static let hostUnreachable = Self("hostUnreachable")
}

/// The lines ssh itself prints at `LogLevel=VERBOSE` around a session (not the remote pgwarden's).
enum SSHLines {
    /// `Authenticated to h1 ([127.0.0.2]:22) using "publickey".`: the session is up.
    static let authenticated = "Authenticated to "

    /// Whether `line` is one of ssh's own: the session is up; what it carried, at its end.
    static func isOwn(_ line: String) -> Bool {
        line.hasPrefix(authenticated) || line.hasPrefix("Transferred: sent ") || line.hasPrefix("Bytes per second: ")
    }
}
