import LockInspection
import LockView
import Logging
import Postgres
import WaitGraph
import WardenSupport

/// `pgwarden locks` as a run needs it, however the command line gave it: by swift-argument-parser
/// (``PGWarden/Locks``) or by ``LocksFastPath``. Nothing here refers to argument parsing, so that
/// a `locks --json` read by the fast path never pages in the parser's code nor its metadata.
struct LocksRequest: Equatable, Sendable {
    /// `--dsn`; libpq's environment when nil.
    var connectionString: String?
    var json = false
    var watch = false
    /// `--interval` (with `--watch`).
    var interval: Duration = .seconds(1)
    var allDatabases = false

    /// Whether `--watch` draws the full-screen view (a terminal that can): it restores the
    /// terminal and exits 128+N on SIGHUP itself. Piped, a hang-up ends the watch with 129 too.
    var drawsScreen: Bool {
        watch && !json && Terminal.standardOutputIsTerminal && Terminal.standardInputIsTerminal && !Terminal.isDumb
    }

    /// Connects, looks, and shows the lock waits: once, or every `interval` with `watch`.
    func run() async throws {
        let logger = Logger(label: "pgwarden.locks")
        guard watch else {
            try await look(logger: logger)
            return
        }
        let (session, role) = try await InspectorSession.open(
            connectionString: connectionString,
            logger: logger
        )
        defer { Task { await session.close() } }
        role.limitations.forEach { Terminal.printWarning($0) }
        let inspector = LockInspector(
            connection: session,
            role: role,
            scope: allDatabases ? .allDatabases : .currentDatabase
        )
        if drawsScreen {
            try await runScreen(inspector, role: role)
            return
        }
        let output = LocksOutput(
            json: json,
            watching: watch,
            scope: inspector.scopeDescription,
            serverVersion: role.serverVersionText
        )
        try await watchPiped(inspector, output: output)
    }

    /// One look: the role, the waits and, when nothing waits here, the hazards and the waits of
    /// other databases, all read in the round trip after connecting (``SingleLook``).
    private func look(logger: Logger) async throws {
        let scope: LockInspector.Scope = allDatabases ? .allDatabases : .currentDatabase
        let (session, look) = try await InspectorSession.openLooking(
            connectionString: connectionString,
            scope: scope,
            logger: logger
        )
        defer { Task { await session.close() } }
        look.role.limitations.forEach { Terminal.printWarning($0) }
        let inspector = LockInspector(connection: session, role: look.role, scope: scope)
        let output = LocksOutput(
            json: json,
            watching: false,
            scope: inspector.scopeDescription,
            serverVersion: look.role.serverVersionText
        )
        output.show(try await inspector.addingProgress(to: look.snapshot))
        hintOtherDatabases(look.elsewhere)
    }

    /// `--watch` without the full-screen view: one snapshot a line, until standard output's
    /// reader goes (the first write to a closed pipe ends it) or a signal ends the process.
    private func watchPiped(_ inspector: LockInspector, output: LocksOutput) async throws {
        do {
            try await watchLines(inspector, output: output)
        } catch is StandardOutputClosed {
            return
        }
    }

    private func watchLines(_ inspector: LockInspector, output: LocksOutput) async throws {
        let lookElsewhere = !allDatabases && !json
        let hazards = HazardsCacheBox()
        let allDatabases = allDatabases
        try await inspector.watch(every: interval) { polled in
            var snapshot = try await inspector.addingProgress(to: polled)
            if snapshot.isEmpty, !allDatabases {
                snapshot.hazards = await hazards.read(from: inspector)
            }
            let elsewhere = snapshot.isEmpty && lookElsewhere ? try await inspector.waitsInOtherDatabases() : []
            let shown = output.show(
                snapshot,
                elsewhere: elsewhere.map { WaitsElsewhere(database: $0.database, count: $0.count) }
            )
            guard shown else { throw StandardOutputClosed() }
        }
    }

    /// The full-screen view, on a terminal that can draw it.
    private func runScreen(_ inspector: LockInspector, role: SessionRole) async throws {
        let connectionString = connectionString
        let scope = inspector.scope
        let runner = LockViewRunner(
            session: ViewSession(
                inspector: inspector,
                signaller: BackendSignaller(connection: inspector.connection, role: role)
            ),
            reopen: { () async throws(PostgresError) -> ViewSession in
                let (session, role) = try await InspectorSession.open(
                    connectionString: connectionString,
                    logger: Logger(label: "pgwarden.locks")
                )
                return ViewSession(
                    inspector: LockInspector(connection: session, role: role, scope: scope),
                    signaller: BackendSignaller(connection: session, role: role)
                )
            },
            interval: interval,
            ascii: !Terminal.localeIsUTF8,
            colour: Terminal.colourOnStandardOutput
        )
        do {
            try await runner.run()
        } catch {
            throw LocksError(
                summary: "cannot draw the lock view: \(error)",
                hint: "pipe the output for one line per snapshot"
            )
        }
    }

    /// Nothing waits here: say where waits are, if anywhere.
    private func hintOtherDatabases(_ counts: [(database: String, count: Int)]) {
        guard !counts.isEmpty else { return }
        let sentence = WaitsElsewhere.sentence(
            counts.map { WaitsElsewhere(database: $0.database, count: $0.count) }
        )
        if json { Terminal.printToStandardError(TerminalText.safe(sentence)) } else { Terminal.printLine(sentence) }
        Terminal.printToStandardError("hint: add --all-databases to see them")
    }
}
