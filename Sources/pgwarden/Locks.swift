import ArgumentParser
import LockInspection
import Logging
import WaitGraph

extension PGWarden {
    /// `pgwarden locks`: who waits on whom.
    struct Locks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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

        @Flag(help: "Repeat every interval: redraw on a terminal, otherwise one snapshot per line.")
        var watch = false

        @Option(help: ArgumentHelp("Time between snapshots with --watch.", valueName: "duration"))
        var interval = DurationArgument(.seconds(1))

        @Flag(help: "Show the waits of every database, not only the connection's.")
        var allDatabases = false

        func validate() throws {
            guard interval.duration > .zero else {
                throw ValidationError("--interval must be longer than zero")
            }
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
            let output = LocksOutput(
                json: json,
                watching: watch,
                scope: inspector.scopeDescription,
                serverVersion: role.serverVersionText
            )
            if watch {
                try await inspector.watch(every: interval.duration) { output.show($0) }
            } else {
                output.show(try await inspector.poll())
            }
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
    let redraw = Terminal.standardOutputIsTerminal

    func show(_ snapshot: LockSnapshot) {
        let text: String
        if json {
            text = snapshot.json(serverVersion: serverVersion).serialized(pretty: !watching)
        } else {
            var renderer = LockForestRenderer(width: Terminal.width)
            renderer.colour = Terminal.colourOnStandardOutput
            text = watching && !redraw ? renderer.summaryLine(snapshot) : renderer.render(snapshot, scope: scope)
        }
        if watching && redraw && !json {
            Terminal.printLine(Terminal.clearScreen + LockSnapshot.timestamp(snapshot.takenAt) + "\n" + text)
        } else {
            Terminal.printLine(text)
        }
    }
}
