import Foundation
import TestSupport
import Testing

/// A password in a connection string never reaches stdout, stderr, a log, a journal or a report,
/// whichever command connects and however malformed the string is.
@Suite("Secrets in connection strings", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct SecretTests {
    static let secret = "S3cr3tPw"

    /// The malformed strings libpq used to quote back whole, and two well-formed ones to an unreachable server.
    static let connectionStrings = [
        "postgresql://app:\(secret)%zz@127.0.0.1:1/appdb", "postgresql://app:\(secret)@[::1/appdb",
        "host=127.0.0.1 \(secret)", "host=127.0.0.1 port=1 \(secret)=x", "postgresql://app:\(secret)@127.0.0.1:1/appdb",
        "host=127.0.0.1 port=1 password=\(secret)", "host=127.0.0.1 port=1 password='\(secret) x'",
    ]

    @Test("every command that connects", arguments: connectionStrings)
    func everyCommand(_ dsn: String) async throws {
        let directory = NSTemporaryDirectory() + "pgwarden-secrets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = directory + "/policy.toml"
        try "[[rule]]\nname = \"x\"\naction = \"log\"\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let config = directory + "/upgrade.toml"
        let tomlDSN = dsn.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        try "dsn = \"\(tomlDSN)\"\ncommand = [\"true\"]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let state = ["--state-dir", directory + "/state", "--report", directory + "/report.json"]
        let runs: [[String]] = [
            ["locks", "--dsn", dsn], ["locks", "--json", "--dsn", dsn], ["cancel", "--dsn", dsn, "12345"],
            ["guard", "--policy", policy, "--once", "--dsn", dsn, "--audit-log", directory + "/audit.jsonl"],
            ["upgrade", "--dsn", dsn, "--no-interactive"] + state + ["--", "true"],
            ["upgrade", "--config", config, "--no-interactive"] + state,
        ]
        for arguments in runs {
            let result = try await PGWardenCommand.run(arguments, environment: ["PGWARDEN_LOG_LEVEL": "debug"])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.standardError.contains("error: "), "\(arguments): \(result.standardError)")
            #expect(!(result.standardOutput + result.standardError).contains(Self.secret), "\(arguments): \(result)")
        }

        // The daemon: it logs the failure and retries; the log line is redacted too.
        let guardRun = try RunningCommand(
            ["guard", "--policy", policy, "--dsn", dsn, "--audit-log", directory + "/audit.jsonl"],
            environment: ["PGWARDEN_LOG_LEVEL": "info"]
        )
        defer { guardRun.kill() }
        try await guardRun.waitForStandardError("cannot connect")
        guardRun.send(SIGTERM)
        _ = try await guardRun.waitForExit()
        #expect(!(guardRun.standardOutput + guardRun.standardError).contains(Self.secret), "\(guardRun.standardError)")

        for file in FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []
        where file != "upgrade.toml" {
            let contents = (try? String(contentsOfFile: directory + "/" + file, encoding: .utf8)) ?? ""
            #expect(!contents.contains(Self.secret), "\(file): \(contents)")
        }
    }
}
