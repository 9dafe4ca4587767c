import ArgumentParser
import LockInspection
import LockView
import Logging
import Postgres
import WaitGraph
import WardenSupport

extension PGWarden {
    /// `pgwarden locks`: who waits on whom.
    struct Locks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "locks",
            abstract: "Show the lock-wait forest: root blockers and the sessions waiting on them.",
            discussion: """
                Each root blocker (a session that blocks others and waits on no one) is shown with the sessions waiting on it nested below: pid, user, application, state, how long it has waited or been in its transaction, the lock it wants, and the start of its query.

                Examples:
                  pgwarden locks
                  pgwarden locks --json | jq '.blockers[] | select(.root)'
                  pgwarden locks --watch --interval 500ms --all-databases
                """
        )

        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "Print one JSON object per snapshot.")
        var json = false

        @Flag(
            help: """
                Repeat every interval. On a terminal: a full-screen view (keys: ↑/↓ or j/k select, c cancel, \
                t terminate, each confirmed with y; space pauses, s sorts by wait or transaction age, / filters \
                by database, user or application, q quits). Otherwise one snapshot per line.
                """
        )
        var watch = false

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "Time between snapshots with --watch (default: 1s; 10ms to 24d).",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.pollInterval)
        )
        var interval = DurationArgument("1s")

        @Flag(help: "Show the waits of every database, not only the connection's.")
        var allDatabases = false

        func validate() throws {
            guard interval.duration > .zero else {
                throw ValidationError("--interval must be longer than zero")
            }
        }

        /// Whether `--watch` draws the full-screen view (a terminal that can): it restores the
        /// terminal and exits 128+N on SIGHUP itself. Piped, a hang-up ends the watch with 129 too.
        var drawsScreen: Bool {
            watch && !json && Terminal.standardOutputIsTerminal && Terminal.standardInputIsTerminal && !Terminal.isDumb
        }

        func run() async throws {
            let logger = Logger(label: "pgwarden.locks")
            let (session, role) = try await InspectorSession.open(
                connectionString: connection.connectionString,
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
            if watch {
                let lookElsewhere = !allDatabases && !json
                let hazards = HazardsCacheBox()
                try await inspector.watch(every: interval.duration) { polled in
                    var snapshot = try await inspector.addingProgress(to: polled)
                    if snapshot.isEmpty, !allDatabases {
                        snapshot.hazards = await hazards.read(from: inspector)
                    }
                    let elsewhere = snapshot.isEmpty && lookElsewhere ? try await inspector.waitsInOtherDatabases() : []
                    output.show(
                        snapshot,
                        elsewhere: elsewhere.map { WaitsElsewhere(database: $0.database, count: $0.count) }
                    )
                }
            } else {
                var snapshot = try await inspector.addingProgress(to: try await inspector.pollReadingLocks())
                if snapshot.isEmpty, !allDatabases { snapshot.hazards = try await inspector.hazards() }
                output.show(snapshot)
                if snapshot.isEmpty, !allDatabases { try await hintOtherDatabases(inspector) }
            }
        }

        /// The full-screen view, on a terminal that can draw it.
        private func runScreen(_ inspector: LockInspector, role: SessionRole) async throws {
            let connectionString = connection.connectionString
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
                interval: interval.duration,
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

        /// Nothing waits here: say where waits are, if anywhere (one cheap query).
        private func hintOtherDatabases(_ inspector: LockInspector) async throws {
            let counts = try await inspector.waitsInOtherDatabases()
            guard !counts.isEmpty else { return }
            let sentence = WaitsElsewhere.sentence(
                counts.map { WaitsElsewhere(database: $0.database, count: $0.count) }
            )
            if json { Terminal.printToStandardError(TerminalText.safe(sentence)) } else { Terminal.printLine(sentence) }
            Terminal.printToStandardError("hint: add --all-databases to see them")
        }
    }
}

/// Prints snapshots as text or JSON, once or repeatedly.
struct LocksOutput {
    let json: Bool
    let watching: Bool
    let scope: String
    /// `server_version` of the `--json` objects.
    let serverVersion: String
    /// Redraw in place on a terminal that can; a dumb one gets lines, as a pipe does.
    let redraw = Terminal.standardOutputIsTerminal && !Terminal.isDumb

    /// Prints `snapshot`; with `--watch`, the waits of `elsewhere` (other databases) when nothing waits here.
    func show(_ snapshot: LockSnapshot, elsewhere: [WaitsElsewhere] = []) {
        var text: String
        if json {
            text = snapshot.json(serverVersion: serverVersion).serialized(pretty: !watching)
        } else {
            var renderer = LockForestRenderer(width: Terminal.width)
            renderer.colour = Terminal.colourOnStandardOutput
            renderer.ascii = !Terminal.localeIsUTF8
            text = watching && !redraw ? renderer.summaryLine(snapshot) : renderer.render(snapshot, scope: scope)
            if !elsewhere.isEmpty {
                text +=
                    (redraw ? "\n" : "; ")
                    + TerminalText.safe(String(WaitsElsewhere.sentence(elsewhere).dropLast()))
                    + " (see --all-databases)"
            }
        }
        // The renderer shows other people's text through TerminalText and JSON escapes every control
        // character, so the text holds no escape but pgwarden's own colours.
        if watching && redraw && !json {
            Terminal.printPrepared(Terminal.clearScreen + LockSnapshot.timestamp(snapshot.takenAt) + "\n" + text)
        } else {
            Terminal.printPrepared(text)
        }
    }
}

/// `pgwarden locks` could not do what was asked.
struct LocksError: DiagnosableError {
    let summary: String
    let hint: String?
}

/// The piped `--watch`'s hazards, read at most every 5 s.
actor HazardsCacheBox {
    private var readAt: ContinuousClock.Instant?
    private var last: LockHazards?

    func read(from inspector: LockInspector) async -> LockHazards? {
        let now = ContinuousClock.now
        if let readAt, now - readAt < .seconds(5) { return last }
        readAt = now
        let value = try? await inspector.hazards()
        last = value
        return value
    }
}
