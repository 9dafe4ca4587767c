import Foundation
import Testing
import Workers

@Suite("The ssh argv of a remote pgwarden step")
struct RemoteCommandTests {
    private let command = RemoteCommand(
        destination: "app@web1",
        sshConfig: "/etc/fleet/ssh_config",
        connectTimeout: .seconds(5),
        program: "/usr/bin/pgwarden"
    )

    @Test("ssh is run as an argv: -F, BatchMode, ConnectTimeout, -- before the destination")
    func argv() {
        let argv = command.argv(["workers", "set", "resume", "--pause-id", "2026-1"])
        #expect(
            argv == [
                "ssh", "-F", "/etc/fleet/ssh_config", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o",
                "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", "-o", "LogLevel=VERBOSE", "-T", "--",
                "app@web1",
                "'/usr/bin/pgwarden'",
                "'workers'", "'set'", "'resume'", "'--pause-id'", "'2026-1'",
            ]
        )
        #expect(!RemoteCommand(destination: "h").argv([]).contains("-F"))
    }

    @Test(
        "each remote word reaches the remote program as it was, through a real POSIX shell",
        arguments: [
            ["plain"], ["it's"], ["a b", "  c  "], ["$HOME", "`id`", "$(id)"], ["*", "?", "[a]", "~", "~root"],
            ["A=b", "x;y", "x&&y", "x|y", "x>y", "#c"], ["\"", "\\", "'", "''", "'\\''"], ["", "new\nline", "tab\t"],
            ["{\"programs\":[\"app:*\"],\"match\":[\"app-cli (a|b)\"]}"], ["naïve", "日本"],
        ]
    )
    func roundTrip(words: [String]) throws {
        // As sshd does: the joined words are handed to the user's shell with -c.
        let joined = RemoteCommand.remoteWords(["printf", "%s\\0"] + words).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", joined]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let received = data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
        #expect(received == words)
    }

    @Test("a destination that would read as an option, or holds white space, is refused")
    func destinations() {
        #expect(RemoteCommand.problem(with: "app@web1") == nil)
        #expect(RemoteCommand.problem(with: "web1.example.org") == nil)
        #expect(RemoteCommand.problem(with: "-oProxyCommand=x") != nil)
        #expect(RemoteCommand.problem(with: "web1 web2") != nil)
        #expect(RemoteCommand.problem(with: "web1\n") != nil)
        #expect(RemoteCommand.problem(with: "") != nil)
    }

    @Test("the remote version must have the same minor")
    func versions() {
        #expect(RemoteVersion.mismatch(host: "h1", local: "0.1.0", remoteLine: "pgwarden 0.1.7, libpq 15.4") == nil)
        #expect(
            RemoteVersion.mismatch(host: "h1", local: "0.1.0", remoteLine: "pgwarden 0.2.0, libpq 15.4")
                == "h1 runs pgwarden 0.2.0, this one is 0.1.0: the same minor version is needed"
        )
        #expect(RemoteVersion.mismatch(host: "h1", local: "0.1.0", remoteLine: "bash: pgwarden: not found") != nil)
    }

    @Test("the answer line is found among the output, and pause ids are checked")
    func answers() {
        let answer = RemoteAnswer(pauseID: "20261207T140000Z-3fa1-w02", state: "paused", said: ["x \u{1B}[2J"])
        #expect(RemoteAnswer.find(in: ["noise", answer.line, "more"]) == answer)
        #expect(RemoteAnswer.find(in: ["noise"]) == nil)
        #expect(RemoteAnswer.isValidPauseID("20261207T140000Z-3fa1-w02"))
        #expect(!RemoteAnswer.isValidPauseID("../x"))
        #expect(!RemoteAnswer.isValidPauseID("x1"))
        #expect(!RemoteAnswer.isValidPauseID("1/../../etc"))
    }
}
