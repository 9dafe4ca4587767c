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

        /// What the run needs of the command line, however it was given.
        var request: LocksRequest {
            LocksRequest(
                connectionString: connection.connectionString,
                json: json,
                watch: watch,
                interval: interval.duration,
                allDatabases: allDatabases
            )
        }

        /// Whether `--watch` draws the full-screen view (``LocksRequest/drawsScreen``).
        var drawsScreen: Bool { request.drawsScreen }

        func run() async throws {
            try await request.run()
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
    /// Returns false when standard output's reader has gone (a closed pipe).
    @discardableResult
    func show(_ snapshot: LockSnapshot, elsewhere: [WaitsElsewhere] = []) -> Bool {
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
            return Terminal.printPrepared(
                Terminal.clearScreen + LockSnapshot.timestamp(snapshot.takenAt) + "\n" + text
            )
        }
        return Terminal.printPrepared(text)
    }
}

/// Standard output's reader has gone (`locks --watch | head -1`): the watch ends, with 0 and
/// nothing on stderr, as the one-shot `locks` does when its output finds no reader.
struct StandardOutputClosed: Error {}

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
