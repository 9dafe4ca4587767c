import Forecast
import FoundationEssentials
import Logging
import PGWardenSQL
import Postgres
import SQLParser
import Subprocess
import WardenSupport

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The rehearsal: copies the real database's schema (`pg_dump --schema-only`) into a scratch database
/// `pgwarden_rehearsal_<run id>` on the same server, or on the server `--rehearse-dsn` names, runs the script there
/// (``RehearsalRunner``), and drops the copy. Beyond `pg_dump`'s AccessShareLocks, taken with `--lock-wait-timeout`
/// so that it never queues, nothing of it touches the real database's relations; every session of its own has a
/// `lock_timeout` and a `statement_timeout`.
package struct Rehearser: Sendable {
    /// The real database (`--dsn`), or libpq's environment.
    package var connectionString: String?
    /// A server to make the copy on instead of the real one (`--rehearse-dsn`).
    package var rehearseConnectionString: String?
    /// A `pg_dump` to use (`--pg-dump`); else ``ClientTools/overrideVariable``, else the first that fits.
    package var pgDump: String?
    /// Names the copy: letters, digits and `_` of it are kept, lowercased.
    package var runID: String
    /// The statement timeout of the rehearsal's sessions.
    package var statementTimeout = "60s"
    package var logger: Logger

    /// Creates a rehearser.
    package init(connectionString: String?, rehearseConnectionString: String?, runID: String, logger: Logger) {
        self.connectionString = connectionString
        self.rehearseConnectionString = rehearseConnectionString
        self.runID = runID
        self.logger = logger
    }

    /// A fresh run id: the UTC time and random hex, such as `20261207t062300z_3fa9`.
    package static func newRunID(now: Date = Date()) -> String {
        RunIdentifier.make(at: now).lowercased().replacing("-", with: "_")
    }

    /// The copy's database name.
    package var copyName: String {
        let id = String(runID.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(44))
        return "pgwarden_rehearsal_" + id
    }

    /// The rehearsal of `statements`, or why none could be made; never throws: the forecast then goes on statically.
    ///
    /// - Parameters:
    ///   - searchPath: the migration role's `search_path` on the real database, which the copy's session starts with.
    ///   - serverMajor: the real server's major.
    package func rehearse(
        _ statements: [ParsedStatement],
        searchPath: String,
        serverMajor: Int,
        singleTransaction: Bool
    ) async -> Rehearsal {
        let override = pgDump ?? ProcessInfo.processInfo.environment[ClientTools.overrideVariable]
        let tools: ClientTools
        switch await ClientTools.locate(serverMajor: serverMajor, override: override) {
        case .success(let found): tools = found
        case .failure(let unavailable): return .unavailable(unavailable.reason)
        }
        let admin: Connection
        do {
            admin = try await Connection.connect(
                configuration(rehearseConnectionString ?? connectionString),
                logger: logger
            )
        } catch {
            return .unavailable("cannot connect to make the copy: \(error.message)")
        }
        defer { Task { await admin.close() } }
        do throws(RehearsalUnavailable) {
            try await prepare(on: admin, serverMajor: serverMajor)
            let warnings = try await copySchema(with: tools)
            var rehearsal = await run(statements, searchPath: searchPath, singleTransaction: singleTransaction)
            rehearsal.status = .ran(copy: copyName, pgDump: tools.pgDump)
            rehearsal.warnings = warnings + rehearsal.warnings
            await drop(on: admin)
            return rehearsal
        } catch {
            await drop(on: admin)
            return .unavailable(error.reason)
        }
    }

    /// Checks the privilege and the server's major, drops the copies crashed runs left, creates this run's copy.
    private func prepare(on admin: Connection, serverMajor: Int) async throws(RehearsalUnavailable) {
        do {
            let copyMajor = await admin.serverVersion / 10000
            if copyMajor != serverMajor {
                throw RehearsalUnavailable(
                    "the rehearsal server runs PostgreSQL \(copyMajor), the database \(serverMajor): its locks would differ"
                )
            }
            let mayCreate =
                try await admin.query(Queries.rehearsalMayCreateDatabase).rows.first?
                .decode(Bool.self, "may_create") ?? false
            guard mayCreate else {
                throw RehearsalUnavailable(
                    "pgwarden's role may not create the scratch database (CREATEDB); give --rehearse-dsn a server where it may"
                )
            }
            for row in try await admin.query(Queries.rehearsalLeftovers).rows {
                let name = try row.require(String.self, "name")
                do {
                    _ = try await admin.query("DROP DATABASE IF EXISTS \(Self.quoted(name))")
                    logger.info("dropped the copy a crashed rehearsal left", metadata: ["database": "\(name)"])
                } catch {
                    logger.info("cannot drop a leftover copy", metadata: ["database": "\(name)", "error": "\(error)"])
                }
            }
            _ = try await admin.query("CREATE DATABASE \(Self.quoted(copyName)) TEMPLATE template0")
        } catch let error as RehearsalUnavailable {
            throw error
        } catch let error as PostgresError {
            throw RehearsalUnavailable("cannot create the copy \(copyName): \(error.message)")
        } catch {
            throw RehearsalUnavailable("cannot create the copy \(copyName): \(error)")
        }
    }

    /// `pg_dump --schema-only` of the real database into a private file, restored into the copy by `psql`; returns
    /// what the restore reported as errors, as warnings.
    private func copySchema(with tools: ClientTools) async throws(RehearsalUnavailable) -> [String] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgwarden-\(copyName)")
        do {
            try FileManager.default.createDirectory(
                at: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw RehearsalUnavailable("cannot make a private directory for the schema: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("schema.sql").path
        let dump = try await Self.run(
            tools.pgDump,
            [
                "--schema-only", "--no-owner", "--no-privileges", "--no-subscriptions", "--no-publications",
                "--no-tablespaces", "--no-security-labels", "--no-comments", "--lock-wait-timeout=2000", "-f", file,
            ],
            environment: try environment(connectionString, database: nil)
        )
        guard dump.status == 0 else {
            throw RehearsalUnavailable(
                "\(tools.pgDump) --schema-only failed: \(dump.errors.last ?? "exit status \(dump.status)")"
            )
        }
        // On the real server, the copy's event triggers are disabled in the restore's own session, before any other
        // session connects (a login trigger) or any DDL of the rehearsal runs (the dump creates them last).
        let disable = rehearseConnectionString == nil ? ["-c", Queries.rehearsalDisableEventTriggers] : []
        let restore = try await Self.run(
            tools.psql,
            ["-X", "-q", "-v", "ON_ERROR_STOP=0", "-f", file] + disable,
            environment: try environment(rehearseConnectionString ?? connectionString, database: copyName)
        )
        guard restore.status == 0 else {
            throw RehearsalUnavailable("psql could not restore the schema: \(restore.errors.last ?? "")")
        }
        let errors = restore.errors.filter { $0.contains("ERROR:") }
        guard let first = errors.first else { return [] }
        return [
            "the schema-only copy was restored with \(errors.count) error(s), first: \(first); statements on what is"
                + " missing fail in the rehearsal and are forecast statically"
        ]
    }

    private func run(_ statements: [ParsedStatement], searchPath: String, singleTransaction: Bool) async -> Rehearsal {
        let session: Connection
        do {
            // The role's search_path on the real database (a database's own setting is not in the dump) is the
            // session's default, so that the script's RESET search_path returns to it as on the real database.
            let configuration = try configuration(
                ConnectionEnvironment.connectionString(
                    rehearseConnectionString ?? connectionString,
                    database: copyName,
                    settings: [("search_path", searchPath)]
                )
            )
            session = try await Connection.connect(configuration, logger: logger)
        } catch {
            return .unavailable("cannot connect to the copy \(copyName): \(error.message)")
        }
        var runner = RehearsalRunner(session: session, isolated: rehearseConnectionString != nil)
        defer { Task { await session.close() } }
        do {
            let results = try await runner.rehearse(statements, singleTransaction: singleTransaction)
            await session.close()
            return Rehearsal(status: .ran(copy: copyName, pgDump: ""), statements: results)
        } catch {
            await session.close()
            return .unavailable("the rehearsal's session failed: \(error.message)")
        }
    }

    /// Drops this run's copy, with whatever session is still connected to it (only the rehearsal's own).
    private func drop(on admin: Connection) async {
        do {
            _ = try await admin.query("DROP DATABASE IF EXISTS \(Self.quoted(copyName)) WITH (FORCE)")
        } catch {
            logger.warning(
                "cannot drop the rehearsal's copy",
                metadata: ["database": "\(copyName)", "error": "\(error)"]
            )
        }
    }

    private func configuration(_ connectionString: String?) -> ConnectionConfiguration {
        ConnectionConfiguration(
            connectionString: connectionString,
            applicationName: "pgwarden-rehearsal-" + String(copyName.dropFirst("pgwarden_rehearsal_".count)),
            // A run killed mid-statement: the server ends the statement within a second instead of finishing it,
            // so that the next run finds the copy unused and drops it.
            sessionSettings: [
                ("lock_timeout", "5s"), ("statement_timeout", statementTimeout),
                ("client_connection_check_interval", "1s"),
            ]
        )
    }

    /// libpq's variables for a child process, never a command-line argument: the password stays out of `ps`.
    private func environment(_ connectionString: String?, database: String?) throws(RehearsalUnavailable)
        -> [String: String]
    {
        var variables: [String: String]
        do {
            variables =
                try connectionString.map { text throws(PostgresError) in
                    try ConnectionEnvironment.variables(for: text)
                } ?? [:]
        } catch {
            throw RehearsalUnavailable("cannot read the connection string: \(error.message)")
        }
        if let database { variables["PGDATABASE"] = database }
        variables["PGAPPNAME"] = "pgwarden-rehearsal-" + String(copyName.dropFirst("pgwarden_rehearsal_".count))
        return variables
    }

    private static func run(_ path: String, _ arguments: [String], environment: [String: String])
        async throws(RehearsalUnavailable) -> (status: Int32, errors: [String])
    {
        do {
            let result = try await Subprocess.run(
                .path(FilePath(path)),
                arguments: Arguments(arguments),
                environment: .inherit.updating(
                    Dictionary(
                        uniqueKeysWithValues: environment.compactMap { key, value in
                            Environment.Key(rawValue: key).map { ($0, Optional(value)) }
                        }
                    )
                ),
                input: .none,
                output: .discarded,
                error: .string(limit: 1 << 20)
            )
            let errors = result.standardError.split(whereSeparator: \.isNewline).map(String.init)
            guard case .exited(let status) = result.terminationStatus else { return (-1, errors) }
            return (status, errors)
        } catch {
            throw RehearsalUnavailable("cannot run \(path): \(error)")
        }
    }

    /// A database name as an SQL identifier.
    static func quoted(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }
}
