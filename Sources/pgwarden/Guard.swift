import ArgumentParser
import Enforcement
import Guard
import Logging
import Policy
import WardenSupport

extension PGWarden {
    /// `pgwarden guard`: the blocker-cancellation policy as a daemon.
    struct GuardCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "guard",
            abstract: "Enforce a blocker-cancellation policy: cancel or terminate sessions that block others.",
            discussion: """
                Polls at the policy's interval and applies its rules to sessions that block someone; every decision (acted, dry run, protected, rate-limited, failed) is one JSON line in the audit log. Runs until SIGINT or SIGTERM; SIGHUP re-reads the policy (a bad one is reported and the previous one kept). Reconnects, with backoff, when the server goes away.

                Always protected, whatever the policy says: pgwarden's own sessions, backends that are not client backends, prepared transactions, and sessions whose identity (backend start) cannot be read. A pgwarden guard leaves alone the sessions of a migration that a pgwarden upgrade supervises: the upgrade claims them in the database, and the guard trusts a claim only from a role in [protect] upgrade_roles (default: its own role), checked by pid and backend start; a session named pgwarden-migration-* gains nothing by its name.

                Examples:
                  pgwarden guard --policy /etc/pgwarden/policy.toml --audit-log /var/log/pgwarden/audit.jsonl
                  pgwarden guard --policy policy.toml --once --dry-run
                  pgwarden guard --policy policy.toml --metrics-listen 127.0.0.1:19187
                """
        )

        @Option(help: ArgumentHelp("The policy file (TOML).", valueName: "file"))
        var policy: String

        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "One pass, then exit.")
        var once = false

        @Flag(help: "Signal nothing; audit what would have been done.")
        var dryRun = false

        @Flag(help: "Watch every database of the cluster (rules' databases = [...] then choose among them).")
        var allDatabases = false

        @Option(
            help: ArgumentHelp("Append the audit lines to this file (default: standard output).", valueName: "file")
        )
        var auditLog: String?

        @Option(
            name: .customLong("metrics-listen"),
            help: ArgumentHelp(
                "Serve Prometheus metrics at http://ADDRESS/metrics (a bare port: 127.0.0.1; default: none).",
                valueName: "address"
            )
        )
        var metricsListen: String?

        func run() async throws {
            let loaded = try Policy(contentsOf: policy)
            let audit = try auditLog.map(AuditLog.init(appendingTo:)) ?? .standardOutput
            let metrics = GuardMetrics()
            let server = try metricsListen.map { try MetricsServer(listening: $0, metrics: metrics) }
            defer { server?.close() }
            let daemon = GuardDaemon(
                options: GuardDaemon.Options(
                    connectionString: connection.connectionString,
                    policyPath: policy,
                    once: once,
                    forceDryRun: dryRun,
                    metrics: metrics,
                    allDatabases: allDatabases
                ),
                policy: loaded,
                audit: audit,
                logger: Logger(label: "pgwarden.guard")
            )
            let pass = try await daemon.run()
            if once, let summary = pass.summary { Terminal.printToStandardError(summary) }
            if audit.failedWrites > 0 {
                throw OperatorError(
                    .guardDaemon,
                    "\(audit.failedWrites) audit entries were not written to \(auditLog ?? "standard output")"
                )
            }
        }
    }
}
