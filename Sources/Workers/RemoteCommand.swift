import WardenSupport

/// How pgwarden reaches another host: the `ssh` argv for a pgwarden command run there, built as an array (never a
/// local shell string). `ssh` joins the remote words with spaces and the remote user's shell splits them again, so
/// each remote word is quoted for a POSIX shell; the destination is checked so that it cannot read as an option.
package struct RemoteCommand: Sendable, Equatable {
    /// The destination as `ssh` takes it: `user@host`, `host`, an alias of the ssh configuration.
    package var destination: String
    /// `ssh -F FILE`: the fleet's own ssh configuration; `nil`: the operator's own.
    package var sshConfig: String?
    /// `ConnectTimeout`.
    package var connectTimeout: Duration
    /// The pgwarden program on that host: `pgwarden` (found on its `PATH`) or an absolute path.
    package var program: String
    /// The `ssh` program.
    package var ssh = "ssh"

    package init(
        destination: String,
        sshConfig: String? = nil,
        connectTimeout: Duration = .seconds(10),
        program: String = "pgwarden"
    ) {
        self.destination = destination
        self.sshConfig = sshConfig
        self.connectTimeout = connectTimeout
        self.program = program
    }

    /// Why `destination` cannot be handed to ssh, or `nil`: it must not be empty, start with `-` (an option), or hold
    /// white space or control characters.
    package static func problem(with destination: String) -> String? {
        if destination.isEmpty { return "is empty" }
        if destination.hasPrefix("-") { return "'\(TerminalText.value(destination))' starts with '-'" }
        if destination.unicodeScalars.contains(where: {
            $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F
        }) {
            return "'\(TerminalText.value(destination))' holds white space or a control character"
        }
        return nil
    }

    /// `ssh [-F FILE] -o BatchMode=yes -o ConnectTimeout=N … -o LogLevel=VERBOSE -T -- DEST 'pgwarden' 'word' …`: BatchMode, so that ssh
    /// never asks for a password or a host key; host keys are checked as the operator's ssh checks them.
    package func argv(_ arguments: [String]) -> [String] {
        let seconds = max(1, Int(connectTimeout.components.seconds))
        return [ssh] + (sshConfig.map { ["-F", $0] } ?? []) + [
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=\(seconds)",
            "-o", "ServerAliveInterval=\(seconds)",
            "-o", "ServerAliveCountMax=2",
            // ssh says "Authenticated to …" once the session is up: an exit 255 after it is a session lost during
            // the step, not a host that cannot be reached (``RemoteRunner``).
            "-o", "LogLevel=VERBOSE",
            "-T", "--", destination,
        ] + Self.remoteWords([program] + arguments)
    }

    /// The longest remote command line: ssh sends the words joined by spaces, and the host's sshd runs them as
    /// one `sh -c` argument, which Linux bounds by MAX_ARG_STRLEN (128 KiB, its NUL included).
    package static let maximumRemoteLength = 128 * 1024 - 1

    /// The length of `pgwarden arguments…` as the host's shell receives it.
    package func remoteLength(_ arguments: [String]) -> Int {
        let words = Self.remoteWords([program] + arguments)
        return words.reduce(words.count - 1) { $0 + $1.utf8.count }
    }

    /// The remote words, each in single quotes for the remote shell (ssh joins them with spaces): always quoted, so
    /// that no word reads as an assignment (`A=b`), a glob, `~` or anything else a shell would expand.
    package static func remoteWords(_ words: [String]) -> [String] {
        words.map { "'" + $0.replacing("'", with: "'\\''") + "'" }
    }
}

/// The version check of a remote pgwarden: the same major and minor as this one.
package enum RemoteVersion {
    /// `0.1` from `pgwarden 0.1.0, libpq 15.4`; `nil` when the line does not read as pgwarden's.
    package static func minor(ofVersionLine line: String) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
        guard words.count >= 2, words[0] == "pgwarden" else { return nil }
        return minor(of: String(words[1]))
    }

    /// `0.1` from `0.1.0`.
    package static func minor(of version: String) -> String? {
        let parts = version.split(separator: ".")
        guard parts.count >= 2, parts.prefix(2).allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            return nil
        }
        return parts.prefix(2).joined(separator: ".")
    }

    /// Why the remote version does not do, or `nil` when it does.
    package static func mismatch(host: String, local: String, remoteLine: String) -> String? {
        let remote = remoteLine.split(whereSeparator: { $0 == " " || $0 == "," }).dropFirst().first.map(String.init)
        guard let remoteMinor = minor(ofVersionLine: remoteLine), let remote else {
            return
                "\(host) answers `pgwarden --version` with '\(TerminalText.safe(String(remoteLine.prefix(80))))', not a pgwarden version"
        }
        guard remoteMinor == minor(of: local) else {
            return
                "\(host) runs pgwarden \(TerminalText.safe(remote)), this one is \(local): the same minor version is needed"
        }
        return nil
    }
}
