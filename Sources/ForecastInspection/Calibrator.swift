import Forecast
import FoundationEssentials
import Logging
import PGWardenSQL
import Postgres
import WardenSupport

/// What the forecast knows of this server's throughput.
package enum CalibrationResult: Sendable {
    /// Measured now.
    case measured(Calibration)
    /// Measured earlier (less than a day ago), read from the state directory.
    case cached(Calibration)
    /// No estimate in seconds, and why.
    case unavailable(String)

    /// The calibration, when there is one.
    package var calibration: Calibration? {
        switch self {
        case .measured(let calibration), .cached(let calibration): calibration
        case .unavailable: nil
        }
    }
}

/// Measures this server's throughput: a VACUUM FULL, a scan (from outside shared buffers, then from inside), a
/// foreign-key check, a rewrite and two index builds (bigint, text) of a scratch table of a few tens of MB, in a scratch database of its
/// own (`pgwarden_calibration_<run id>`, dropped after), so that it locks nothing of the application's. Kept per
/// server and major for a day in the state directory.
package struct Calibrator: Sendable {
    /// The real server (`--dsn`), or libpq's environment.
    package var connectionString: String?
    /// Where the measurement is kept; `nil`: measured each time.
    package var stateDirectory: StateDirectory?
    /// Measure again even when a calibration of less than a day is kept (`--recalibrate`).
    package var recalibrate = false
    /// Names the scratch database.
    package var runID: String
    /// Rows of the scratch table: ~110 bytes each, some 27 MB.
    package var rows = 250_000
    package var logger: Logger

    package init(connectionString: String?, stateDirectory: StateDirectory?, runID: String, logger: Logger) {
        self.connectionString = connectionString
        self.stateDirectory = stateDirectory
        self.runID = runID
        self.logger = logger
    }

    /// The scratch database's name.
    package var databaseName: String {
        "pgwarden_calibration_" + String(runID.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(40))
    }

    private var applicationName: String { "pgwarden-calibration-" + databaseName.dropFirst(21) }

    /// The calibration for the server `session` is connected to: kept, or measured now; never throws.
    package func calibration(on session: Connection) async -> CalibrationResult {
        let server: String
        let major: Int
        let sharedBuffers: Int64?
        let participants: Int?
        do {
            guard let row = try await session.query(Queries.calibrationServer).rows.first else {
                return .unavailable("cannot tell which server this is")
            }
            server = try row.require(String.self, "server")
            major = try row.require(Int.self, "major")
            sharedBuffers = try row.decode(Int.self, "shared_buffers_bytes").map(Int64.init)
            participants = try row.decode(Int.self, "index_build_participants")
        } catch {
            return .unavailable("cannot tell which server this is: \(Self.message(error))")
        }
        let fileName = Calibration.fileName(server: server, major: major)
        if !recalibrate, let kept = load(fileName), kept.isUsable(server: server, major: major, now: Date()) {
            return .cached(kept)
        }
        let started = ContinuousClock.now
        switch await measure(server: server, major: major) {
        case .failure(let failure): return .unavailable(failure.reason)
        case .success(var calibration):
            calibration.tookSeconds = Self.seconds(ContinuousClock.now - started)
            calibration.sharedBufferBytes = sharedBuffers
            calibration.indexBuildParticipants = participants
            save(calibration, as: fileName)
            logger.info("calibrated", metadata: ["summary": "\(calibration.summary)"])
            return .measured(calibration)
        }
    }

    private func load(_ fileName: String) -> Calibration? {
        guard let directory = stateDirectory, let data = try? directory.read(fileName) else { return nil }
        return try? JSONDecoder().decode(Calibration.self, from: data)
    }

    private func save(_ calibration: Calibration, as fileName: String) {
        guard let directory = stateDirectory else { return }
        do {
            try directory.prepare()
            try directory.write(try JSONEncoder().encode(calibration), to: fileName)
        } catch {
            logger.warning("cannot keep the calibration", metadata: ["error": "\(error)"])
        }
    }

    /// Creates the scratch database, measures in it, drops it.
    private func measure(server: String, major: Int) async -> Result<Calibration, RehearsalUnavailable> {
        let admin: Connection
        do {
            admin = try await Connection.connect(configuration(connectionString), logger: logger)
        } catch {
            return .failure(RehearsalUnavailable("cannot connect to calibrate: \(error.message)"))
        }
        defer { Task { await admin.close() } }
        do {
            let mayCreate =
                try await admin.query(Queries.rehearsalMayCreateDatabase).rows.first?
                .decode(Bool.self, "may_create") ?? false
            guard mayCreate else {
                return .failure(
                    RehearsalUnavailable("pgwarden's role may not create the calibration's scratch database (CREATEDB)")
                )
            }
            for row in try await admin.query(Queries.calibrationLeftovers).rows {
                let name = try row.require(String.self, "name")
                do {
                    _ = try await admin.query("DROP DATABASE IF EXISTS \(Rehearser.quoted(name))")
                } catch {
                    // A leftover still in use is tried again next time; it is named, not forgotten.
                    logger.warning(
                        "cannot drop a leftover calibration database",
                        metadata: ["database": "\(name)", "error": "\(Self.message(error))"]
                    )
                }
            }
            _ = try await admin.query("CREATE DATABASE \(Rehearser.quoted(databaseName)) TEMPLATE template0")
        } catch {
            return .failure(
                RehearsalUnavailable("cannot create the calibration's scratch database: \(Self.message(error))")
            )
        }
        let result = await workload(server: server, major: major)
        do {
            _ = try await admin.query("DROP DATABASE IF EXISTS \(Rehearser.quoted(databaseName)) WITH (FORCE)")
        } catch {
            logger.warning("cannot drop the calibration's scratch database", metadata: ["error": "\(error)"])
        }
        return result
    }

    /// The measurement proper, on a session of the scratch database.
    private func workload(server: String, major: Int) async -> Result<Calibration, RehearsalUnavailable> {
        let session: Connection
        do {
            session = try await Connection.connect(
                configuration(try ConnectionEnvironment.connectionString(connectionString, database: databaseName)),
                logger: logger
            )
        } catch {
            return .failure(
                RehearsalUnavailable("cannot connect to the calibration's scratch database: \(error.message)")
            )
        }
        defer { Task { await session.close() } }
        do {
            for statement in Self.setUp(rows: rows) { _ = try await session.query(statement) }
            let bytes = try await tableBytes(session)
            let (copy, readScan, scan) = try await scans(session)
            let check = try await timed(
                session,
                "ALTER TABLE pgwarden_calibration ADD CONSTRAINT parent FOREIGN KEY (k) REFERENCES pgwarden_calibration_parent"
            )
            let rewrite = try await timed(session, "ALTER TABLE pgwarden_calibration ALTER COLUMN n TYPE bigint")
            let rewritten = try await tableBytes(session)
            let build = try await timed(session, "CREATE INDEX ON pgwarden_calibration (id)")
            let textBuild = try await timed(session, "CREATE INDEX ON pgwarden_calibration (pad)")
            let floor = 1e-4
            return .success(
                Calibration(
                    server: server,
                    major: major,
                    measuredAt: Date(),
                    tableBytes: bytes,
                    scanBytesPerSecond: Double(bytes) / max(scan, floor),
                    rewriteBytesPerSecond: Double(bytes) / max(rewrite, floor),
                    indexBuildBytesPerSecond: Double(rewritten) / max(build, floor),
                    textIndexBuildBytesPerSecond: Double(rewritten) / max(textBuild, floor),
                    foreignKeyBytesPerSecond: Double(bytes) / max(check, floor),
                    tookSeconds: 0,
                    readScanBytesPerSecond: Double(bytes) / max(readScan, floor),
                    heapCopyBytesPerSecond: Double(bytes) / max(copy, floor)
                )
            )
        } catch {
            return .failure(RehearsalUnavailable("the calibration failed: \(Self.message(error))"))
        }
    }

    /// The scratch table of `rows` rows (an id, an int, a key into a 1,000-row parent, 64 characters of text),
    /// vacuumed so that its pages are as a live table's: hint bits set, visibility map current.
    static func setUp(rows: Int) -> [String] {
        [
            "CREATE TABLE pgwarden_calibration_parent (id int PRIMARY KEY)",
            "INSERT INTO pgwarden_calibration_parent SELECT generate_series(1, 1000)",
            "CREATE TABLE pgwarden_calibration (id bigint, n int, k int, pad text)",
            "INSERT INTO pgwarden_calibration SELECT g, g, g % 1000 + 1, md5(g::text) || md5((g + 1)::text)"
                + " FROM generate_series(1, \(max(rows, 1000))) AS g",
            "VACUUM ANALYZE pgwarden_calibration_parent",
            "VACUUM ANALYZE pgwarden_calibration",
        ]
    }

    /// The table's VACUUM FULL, its scan from outside shared buffers and its scan from inside: the best of two rounds,
    /// for each is a single pass of some tens of milliseconds that a busy machine slows down at random (and the
    /// difference of the two scans counts for every large table).
    ///
    /// VACUUM FULL writes the table anew outside shared buffers (it has no index to rebuild, which would read it
    /// back), and VACUUM, through its small ring, makes it all-visible as a live table is: its first scan reads every
    /// page from the kernel, as the scan of a table larger than shared_buffers always does, and brings it
    /// into shared buffers for the second. The constraint `positive` is left for the rewrite measured after.
    private func scans(_ session: Connection) async throws(PostgresError) -> (copy: Double, read: Double, hot: Double) {
        var best = (copy: Double.infinity, read: Double.infinity, hot: Double.infinity)
        for round in 1...2 {
            let copy = try await timed(session, "VACUUM FULL pgwarden_calibration")
            _ = try await session.query("VACUUM pgwarden_calibration")
            let read = try await timed(
                session,
                "ALTER TABLE pgwarden_calibration ADD CONSTRAINT positive_read CHECK (n > 0)"
            )
            _ = try await session.query("ALTER TABLE pgwarden_calibration DROP CONSTRAINT positive_read")
            let hot = try await timed(session, "ALTER TABLE pgwarden_calibration ADD CONSTRAINT positive CHECK (n > 0)")
            if round == 1 { _ = try await session.query("ALTER TABLE pgwarden_calibration DROP CONSTRAINT positive") }
            best = (min(best.copy, copy), min(best.read, read), min(best.hot, hot))
        }
        return best
    }

    private func tableBytes(_ session: Connection) async throws(PostgresError) -> Int64 {
        Int64(try await session.query(Queries.calibrationTableBytes).rows.first?.decode(Int.self, "bytes") ?? 0)
    }

    private func timed(_ session: Connection, _ sql: String) async throws(PostgresError) -> Double {
        let started = ContinuousClock.now
        _ = try await session.query(sql)
        return Self.seconds(ContinuousClock.now - started)
    }

    private func configuration(_ connectionString: String?) -> ConnectionConfiguration {
        ConnectionConfiguration(
            connectionString: connectionString,
            applicationName: applicationName,
            sessionSettings: [
                ("lock_timeout", "5s"), ("statement_timeout", "120s"), ("client_connection_check_interval", "1s"),
            ]
        )
    }

    static func message(_ error: any Error) -> String {
        (error as? PostgresError)?.message ?? String(describing: error)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
