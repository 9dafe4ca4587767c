import ArgumentParser
import Postgres

/// The root command: subcommands only.
struct PGWarden: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgwarden",
        abstract: "A PostgreSQL-aware migration supervisor: lock waits, blockers, and the workers around a migration.",
        discussion: """
            Every command that talks to PostgreSQL takes --dsn (a libpq key=value string or a postgresql:// URI). Without it, libpq's environment applies exactly as for psql: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSERVICE and ~/.pgpass.
            """,
        version: "pgwarden \(version), libpq \(LibPQVersion.text)",
        subcommands: [
            Upgrade.self, Recover.self, Status.self, Locks.self, Cancel.self, GuardCommand.self, WorkersCommand.self,
            ReloadCommand.self, ForecastCommand.self,
        ]
    )

    /// pgwarden's own version.
    static let version = "0.1.0"
}
