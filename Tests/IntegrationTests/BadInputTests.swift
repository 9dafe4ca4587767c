import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Bad input gets one clear line and a non-zero exit, never a crash or a backtrace.
@Suite("Bad input", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct BadInputTests {
    @Test("a malformed connection string")
    func malformedDSN() async throws {
        let result = try await PGWardenCommand.run(["locks", "--dsn", "host=localhost port=="])
        #expect(result.status == 1)
        #expect(result.standardError == "error: invalid integer value \"=\" for connection option \"port\"\n")
        #expect(result.standardOutput.isEmpty)
    }

    @Test("an unknown connection option")
    func unknownOption() async throws {
        let result = try await PGWardenCommand.run(["locks", "--dsn", "hots=localhost"])
        #expect(result.status == 1)
        #expect(result.standardError == "error: invalid connection option \"hots\"\n")
    }

    @Test("a refused connection")
    func refused() async throws {
        let result = try await PGWardenCommand.run(["locks", "--dsn", "host=127.0.0.1 port=1"])
        #expect(result.status == 1)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first == "error: connection to server at \"127.0.0.1\", port 1 failed: Connection refused")
        #expect(lines.last?.hasPrefix("hint: Is the server running") == true)
    }

    @Test("a server that never answers is bounded by connect_timeout")
    func unresponsiveServer() async throws {
        // A listening socket that accepts the connection and never speaks.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0 && listen(listener, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)

        let started = ContinuousClock.now
        // libpq tries GSS, then SSL, then plain, each bounded by connect_timeout: without it, it would wait forever.
        let result = try await PGWardenCommand.run(["locks", "--dsn", "host=127.0.0.1 port=\(port) connect_timeout=1"])
        let elapsed = ContinuousClock.now - started

        #expect(result.status == 1)
        #expect(
            result.standardError.hasPrefix(
                "error: connection to server at \"127.0.0.1\", port \(port) failed: timeout expired"
            )
        )
        #expect(elapsed < .seconds(20))
    }

    @Test("a database that does not exist")
    func wrongDatabase() async throws {
        let result = try await PGWardenCommand.run(["locks", "--dsn", "dbname=pgw_no_such_database"])
        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix("error: connection to server"))
        #expect(result.standardError.contains("database \"pgw_no_such_database\" does not exist"))
        #expect(result.standardError.split(separator: "\n").count == 1)
    }

    @Test("a password never appears in what pgwarden prints")
    func passwordNotPrinted() async throws {
        let secret = "s3cret-\(UUID().uuidString.prefix(6))"
        for dsn in [
            "host=127.0.0.1 port=1 password=\(secret)", "postgresql://u:\(secret)@127.0.0.1:1/db",
            "password=\(secret) port==",
        ] {
            let result = try await PGWardenCommand.run(["locks", "--dsn", dsn])
            #expect(result.status == 1)
            #expect(!result.standardError.contains(secret) && !result.standardOutput.contains(secret))
        }
    }

    @Test("bad arguments: one error line, a hint, exit 64")
    func badArguments() async throws {
        let unknown = try await PGWardenCommand.run(["locks", "--bogus"])
        #expect(unknown.status == 64)
        #expect(unknown.standardError == "error: Unknown option '--bogus'\nhint: see 'pgwarden help'\n")
        let interval = try await PGWardenCommand.run(["locks", "--watch", "--interval", "soon"])
        #expect(interval.status == 64)
        #expect(interval.standardError.hasPrefix("error: The value 'soon' is invalid for '--interval <duration>'"))
        let pid = try await PGWardenCommand.run(["cancel", "-5"])
        #expect(pid.status == 64)
        let noPID = try await PGWardenCommand.run(["cancel"])
        #expect(noPID.status == 64)
        #expect(noPID.standardError.hasPrefix("error: Missing expected argument '<pid> ...'"))
    }

    @Test(
        "an empty or blank --dsn is refused in every form, as --dsn= always was, never read as libpq's environment",
        arguments: [["--dsn", ""], ["--dsn="], ["--dsn", " "], ["--json", "--dsn", ""], ["--dsn", "", "--json"]]
    )
    func emptyDSN(arguments: [String]) async throws {
        // The environment names a server that is up: an empty --dsn would have connected to it and exited 0.
        let result = try await PGWardenCommand.run(["locks"] + arguments)
        #expect(result.status == 64)
        #expect(result.standardOutput.isEmpty)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("error: ") && lines[1].hasPrefix("hint: "), "\(lines)")
    }

    @Test("upgrade: an invalid --pause-workers or a missing --config is refused before anything runs")
    func upgradeArguments() async throws {
        let pattern = try await PGWardenCommand.run(["upgrade", "--pause-workers", "app-(cli", "--", "true"])
        #expect(pattern.status == 64)
        #expect(
            pattern.standardError.hasPrefix("error: --pause-workers 'app-(cli' is not a valid regular expression\n")
        )
        let config = try await PGWardenCommand.run(["upgrade", "--config", "/nonexistent/upgrade.toml", "--", "true"])
        #expect(config.status == 1)
        #expect(config.standardError == "error: /nonexistent/upgrade.toml: no such config file\n")
        // A --migration-dsn libpq cannot read: said, never dropped (the migration would connect elsewhere).
        let migrationDSN = try await PGWardenCommand.run(["upgrade", "--migration-dsn", "host='unclosed", "--", "true"])
        #expect(migrationDSN.status == 1, "\(migrationDSN.standardError)")
        #expect(
            migrationDSN.standardError.hasPrefix("error: --migration-dsn is not a connection string libpq reads"),
            "\(migrationDSN.standardError)"
        )
        // Two app servers to reload: one error naming the line, before anything runs.
        let path = NSTemporaryDirectory() + "pgwarden-two-servers-" + UUID().uuidString + ".toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "uwsgi_fifo = \"/run/uwsgi/app.fifo\"\ngunicorn_pidfile = \"/run/gunicorn/app.pid\"\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let both = try await PGWardenCommand.run(["upgrade", "--config", path, "--", "true"])
        #expect(both.status == 1)
        #expect(
            both.standardError == "error: \(path):2: gunicorn_pidfile: goes alone: give one app server to reload\n",
            "\(both.standardError)"
        )
        let flags = try await PGWardenCommand.run([
            "reload", "--gunicorn-pidfile", "/run/gunicorn/app.pid", "--uwsgi-fifo", "/run/uwsgi/app.fifo",
        ])
        #expect(flags.status == 64)
        #expect(flags.standardError.hasPrefix("error: --gunicorn-pidfile goes alone: give one app server to reload\n"))
    }

    @Test("a 2 MB value in a config or policy: its error line quotes 200 characters of it and its size, not 2 MB")
    func hugeValues() async throws {
        let path = NSTemporaryDirectory() + "pgwarden-huge-" + UUID().uuidString + ".toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let huge = String(repeating: "x", count: 2_000_000)
        let cases: [(text: String, command: [String], said: String)] = [
            (
                "[[workers]]\nkind = \"crontab\"\nmatch = [\"(\(huge)\"]\n", ["upgrade"],
                "is not a valid regular expression"
            ),
            ("[[workers]]\nkind = \"crontab\"\nmatch = [\"a\"]\nhost = \"-\(huge)\"\n", ["upgrade"], "starts with '-'"),
            ("\(huge) = 1\n", ["upgrade"], "unknown key"),
            ("grace = \"1\(huge)\"\n", ["upgrade"], "unknown unit"),
            (
                "[[rule]]\nname = \"r\"\nblocking_for = \"1s\"\naction = \"\(huge)\"\n",
                ["guard", "--once", "--policy"], "unknown action"
            ),
        ]
        for (text, command, said) in cases {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let arguments = command.last == "--policy" ? command + [path] : command + ["--config", path, "--", "true"]
            let result = try await PGWardenCommand.run(arguments)
            #expect(result.status != 0)
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.first?.hasPrefix("error: ") == true, "\(result.standardError.prefix(300))")
            #expect(lines.allSatisfy { $0.utf8.count < 1_000 }, "\(result.standardError.prefix(300))")
            #expect(
                result.standardError.contains("… (2000001 bytes)")
                    || result.standardError.contains("… (2000000 bytes)"),
                "\(result.standardError.prefix(600))"
            )
            #expect(result.standardError.contains(said), "\(result.standardError.prefix(600))")
        }
    }

    @Test(
        "a policy or config of arrays nested 3,000 deep: one error naming the line, not a crash (was SIGSEGV, exit 139)"
    )
    func deeplyNested() async throws {
        let path = NSTemporaryDirectory() + "pgwarden-deep-" + UUID().uuidString + ".toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let deep = "# 6 KB\n\nx = " + String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000) + "\n"
        try deep.write(toFile: path, atomically: true, encoding: .utf8)
        let policy = try await PGWardenCommand.run(["guard", "--policy", path, "--once"])
        #expect(policy.status == 1)
        #expect(policy.standardError == "error: \(path):3: arrays nested more than 16 deep\n")
        let config = try await PGWardenCommand.run(["upgrade", "--config", path, "--", "true"])
        #expect(config.status == 1)
        #expect(config.standardError == "error: \(path):3: arrays nested more than 16 deep\n")
    }

    @Test("help and version succeed on stdout")
    func help() async throws {
        let help = try await PGWardenCommand.run(["locks", "--help"])
        #expect(help.status == 0 && help.standardOutput.contains("USAGE: pgwarden locks"))
        let version = try await PGWardenCommand.run(["--version"])
        #expect(version.status == 0 && version.standardOutput.hasPrefix("pgwarden 0.1.0, libpq "))
    }
}
