import Forecast
import FoundationEssentials
import LockInspection
import Logging
import PGWardenSQL
import Postgres
import SQLParser
import WardenSupport

/// Makes a forecast against a live server on pgwarden's own session (its statement and lock timeouts): reads the
/// catalog and the current locks, samples activity. It never runs the migration's statements.
package struct MigrationForecaster: Sendable {
    /// The server (`--dsn`), or libpq's environment.
    package var connectionString: String?
    /// How long relation activity is sampled over.
    package var sampling: Duration
    /// The request timeout (uWSGI's harakiri) for the arithmetic.
    package var requestTimeout: Duration?
    /// The script runs as one transaction (`psql --single-transaction`, Flyway's default).
    package var singleTransaction = false
    /// Rehearses the script on a schema-only copy before the forecast reads the catalog; `nil`: static analysis only.
    package var rehearser: Rehearser?
    /// Measures (or reads the kept measure of) this server's throughput for the seconds; `nil`: no seconds.
    package var calibrator: Calibrator?
    package var logger: Logger

    package init(connectionString: String?, sampling: Duration, requestTimeout: Duration?, logger: Logger) {
        self.connectionString = connectionString
        self.sampling = sampling
        self.requestTimeout = requestTimeout
        self.logger = logger
    }

    /// The forecast of `script`, with `warnings` added (such as Alembic's).
    package func forecast(script: String, source: String, warnings: [String] = [], uncovered: [String] = [])
        async throws -> MigrationForecast
    {
        // The forecast resolves the migration's table, type and function names as the migration will.
        let (session, _) = try await InspectorSession.open(
            connectionString: connectionString,
            names: .role,
            logger: logger
        )
        do {
            var result = try await forecast(script: script, source: source, warnings: warnings, on: session)
            result.uncovered = uncovered
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    /// The forecast of `script` on an open pgwarden session.
    package func forecast(
        script: String,
        source: String,
        warnings: [String] = [],
        on session: Connection
    ) async throws -> MigrationForecast {
        // By bytes: a NUL is a grapheme of its own, and a walk by characters over 50 MB takes a second.
        guard !script.utf8.contains(0) else { throw OperatorError(.forecast, "the SQL contains a NUL byte") }
        let timeout = requestTimeout.map(Self.seconds)
        var (forecast, skipped) = try await plan(script, source: source, on: session)
        var oids: [UInt32] = []
        var seen: Set<UInt32> = []
        for lock in forecast.statements.lazy.flatMap({ $0.analysis?.locks ?? [] }) {
            if let oid = lock.facts?.oid, seen.insert(oid).inserted { oids.append(oid) }
        }
        let live = try await LiveReader.read(relations: oids, sampling: sampling, on: session)
        // In place: a copy of a million statements' forecasts would double their memory.
        forecast.judge(live: live, requestTimeoutSeconds: timeout)
        // Nothing rewritten, scanned or built: nothing to measure.
        let calibration = forecast.doesWork ? await calibrator?.calibration(on: session) : nil
        forecast.estimate(calibration: calibration?.calibration, note: calibration.map(Self.note))
        forecast.warnings =
            warnings
            + skipped.map { "line \($0.line): \($0.what) skipped: the forecast reads SQL, not psql's own input" }
            + forecast.warnings
        return forecast
    }

    /// The statements of `script` planned a piece at a time, each piece's catalog facts read before it is planned
    /// and its parse trees let go after: memory holds one piece's trees, however long the script. With a
    /// rehearsal, the whole script is parsed first (the rehearsal runs it before the catalog is read).
    private func plan(_ script: String, source: String, on session: Connection) async throws -> (
        forecast: MigrationForecast, skipped: [PsqlText.Skipped]
    ) {
        var pieces = SQLParser.ScriptPieces(script)
        var rehearsal: Rehearsal?
        var first = pieces.next() ?? []
        if rehearser != nil {
            while let piece = pieces.next() { first += piece }
            rehearsal = await rehearse(first, on: session)
        }
        var facts = try await CatalogReader.read(
            for: first,
            also: rehearsal?.relationKeys ?? [],
            adding: nil,
            on: session
        )
        var draft = ForecastDraft(facts: facts, rehearsal: rehearsal, singleTransaction: singleTransaction)
        draft.reserve(pieces.expectedStatements)
        draft.add(first, facts: facts)
        first = []
        while let piece = pieces.next() {
            facts = try await CatalogReader.read(for: piece, adding: facts, on: session)
            draft.add(piece, facts: facts)
        }
        return (draft.unjudged(source: source, takenAt: Date()), pieces.skipped)
    }

    /// The rehearsal of `statements` with the role's search_path and the server's major, when one is asked for.
    private func rehearse(_ statements: [ParsedStatement], on session: Connection) async -> Rehearsal? {
        guard let rehearser else { return nil }
        let searchPath: String
        do {
            searchPath =
                try await session.query("SELECT current_setting('search_path') AS path").rows.first?
                .decode(String.self, "path") ?? "\"$user\", public"
        } catch {
            return .unavailable("cannot read the search_path: \(error.message)")
        }
        let started = ContinuousClock.now
        let rehearsal = await rehearser.rehearse(
            statements,
            searchPath: searchPath,
            serverMajor: await session.serverVersion / 10000,
            singleTransaction: singleTransaction
        )
        logger.info(
            "rehearsal",
            metadata: ["status": "\(rehearsal.status)", "took": "\(ContinuousClock.now - started)"]
        )
        return rehearsal
    }

    /// The SQL of the pending Alembic revisions and what to warn about, from `alembic_version` on the server.
    ///
    /// `uncovered` names what the SQL leaves out: the revision Alembic could not render offline (and those after it).
    package func alembicSQL(executable: String, arguments: [String], target: String = "head") async throws -> (
        sql: String, source: String, warnings: [String], uncovered: [String]
    ) {
        let (session, role) = try await InspectorSession.open(connectionString: connectionString, logger: logger)
        let current: String?
        do {
            current = try await InspectorSession.queryOnRoleSearchPath(Queries.alembicVersion, on: session)
                .rows.first?.decode(String.self, "version")
            await session.close()
        } catch {
            await session.close()
            // A least-privilege role: which revisions are pending cannot be told; say the grant that tells it.
            guard (error as? PostgresError)?.isInsufficientPrivilege == true else { throw error }
            throw OperatorError(
                .forecast,
                "role \(role.role) may not read alembic_version, so the pending revisions cannot be told",
                hint: "GRANT SELECT ON alembic_version TO \(role.role), or forecast the SQL with --sql FILE"
            )
        }
        let rendered = try await AlembicOfflineSQL.render(
            executable: executable,
            arguments: arguments,
            currentRevision: current,
            target: target,
            environment: (connectionString.flatMap { try? ConnectionEnvironment.variables(for: $0) } ?? [:])
                .merging(["PGAPPNAME": "pgwarden-forecast-alembic"]) { $1 }
        )
        var warnings: [String] = []
        var uncovered: [String] = []
        if let failure = rendered.failure {
            let revision = failure.revision.map { "revision \($0)" } ?? "a revision"
            uncovered.append("\(revision) and any after it (alembic upgrade \(rendered.range) --sql failed there)")
            warnings.append(
                "alembic upgrade \(rendered.range) --sql failed at \(revision) (it cannot render offline, e.g. it uses"
                    + " op.get_bind()): \(failure.message); the forecast covers only the revisions before it"
            )
            let covered = SQLParser.parse(rendered.sql).contains { statement in
                guard case .success(let tree) = statement.result else { return true }
                return tree.type != "TransactionStmt"
            }
            if !covered {
                warnings.append("the forecast covers nothing")
                return ("", "alembic upgrade \(rendered.range) --sql", warnings, uncovered)
            }
        }
        return (rendered.sql, "alembic upgrade \(rendered.range) --sql", warnings, uncovered)
    }

    /// Where the seconds come from, or why there are none.
    static func note(_ result: CalibrationResult) -> String {
        switch result {
        case .measured(let calibration): calibration.summary
        case .cached(let calibration):
            "kept from " + MigrationForecast.timestamp(calibration.measuredAt) + " (--recalibrate measures again): "
                + calibration.summary
        case .unavailable(let reason): "no estimate in seconds: " + reason
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
