import FoundationEssentials
import LockInspection
import Logging
import PGWardenSQL
import Postgres
import Processes
import Response
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What is left of a run once its command has exited: processes that still carry its
/// `PGAPPNAME` in their environment (a child that `setsid` took out of the process group), and
/// sessions still named for it (a backend waiting on a lock does not notice that its client has
/// gone). They are given a short grace, then stopped and terminated, and checked gone.
struct RunLeftovers: Sendable {
    /// The run's `application_name`, also its processes' `PGAPPNAME`.
    let applicationName: String
    let connectionString: String?
    let logger: Logger
    /// Whether this process is the run's subreaper, so that its descendants are the run's (the supervisor,
    /// not `recover`).
    var adoptsDescendants = false
    /// Descendants adopted before the command started (a daemon a reload command left): not the run's.
    var adoptedBefore: Set<ProcessIdentity> = []

    /// What settling found and did.
    struct Outcome: Sendable {
        /// Processes of the run that outlived the command, stopped: `pid N: command`.
        var stoppedProcesses: [String] = []
        /// Sessions of the run that outlived the command, terminated: `pid N (outcome)`.
        var terminatedSessions: [String] = []
        /// Sessions still there after all that.
        var remaining: [Int32] = []
        /// Why the sessions could not be checked, if so.
        var checkFailed: String?

        /// Whether nothing of the run outlived its command.
        var clean: Bool { stoppedProcesses.isEmpty && terminatedSessions.isEmpty && remaining.isEmpty }
        /// Whether nothing of the run is left now.
        var allGone: Bool { remaining.isEmpty && checkFailed == nil }
    }

    /// Waits up to `grace` for the run's processes and sessions to end by themselves, then stops and
    /// terminates what is left, and checks that it is gone. `interrupted` cuts the grace short.
    func settle(grace: Duration, interrupted: @escaping @Sendable () -> Bool = { false }) async -> Outcome {
        var outcome = Outcome()
        let connection: Connection
        let role: SessionRole
        do {
            (connection, role) = try await InspectorSession.open(connectionString: connectionString, logger: logger)
        } catch {
            outcome.checkFailed = "cannot connect to check for the run's sessions: \(error.description)"
            await stopProcesses(processes(), &outcome)
            return outcome
        }
        defer { Task { await connection.close() } }
        do {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: grace)
            var left = processes()
            var keys = try await sessions(on: connection, of: left)
            while !(keys.isEmpty && left.isEmpty), clock.now < deadline, !interrupted() {
                // Cancelled: the grace ends here; what is left is still stopped below.
                do { try await Task.sleep(for: .milliseconds(100)) } catch { break }
                left = processes()
                keys = try await sessions(on: connection, of: left)
            }
            // The sessions are named before the processes go: a backend keeps its locks after its client is
            // killed until it next talks to it, and a killed process's sockets no longer say whose it was.
            await stopProcesses(left, &outcome)
            let signaller = BackendSignaller(connection: connection, role: role)
            for key in keys {
                // The session as listed (pid and backend_start): a pid reused since is not signalled. Without
                // its backend_start (pgwarden's role may not read it) the pid alone would name whoever has it
                // by the time the signal arrives: not signalled; it stays in `remaining`, which says so.
                guard key.backendStart != nil else { continue }
                let target = SessionIdentity(key: key, xactStart: nil, state: nil, checksTransaction: false)
                let result = await signaller.send(SignalRequest(action: .terminate, target: target))
                outcome.terminatedSessions.append("pid \(key.pid) (terminate → \(result.outcome.name))")
            }
            let stillThere = try await sessions(on: connection, of: [])
            outcome.remaining = try await liveKeys(keys, on: connection).union(stillThere).map(\.pid).sorted()
        } catch {
            outcome.checkFailed = "cannot check for the run's sessions: \(Supervisor.describe(error))"
        }
        return outcome
    }

    /// The backends named for the run, and those whose client end is a socket of `processes`, with their identity.
    func sessions(on connection: Connection, of processes: [ProcessEntry]) async throws -> Set<SessionKey> {
        let sockets = processes.isEmpty ? nil : ClientSockets(processes: Set(processes.map(\.pid)))
        // A row that cannot be read is an error, not a session left out: a session skipped here would be
        // neither terminated nor counted as remaining.
        var keys: Set<SessionKey> = []
        for row in try await connection.query(Queries.clientSessions).rows {
            let pid = try row.require(Int32.self, "pid")
            let named = try row.decode(String.self, "application_name") == applicationName
            let owned =
                try sockets?.owner(
                    ofBackend: pid,
                    clientAddress: row.decode(String.self, "client_addr"),
                    clientPort: row.decode(Int32.self, "client_port")
                ) != nil
            if named || owned {
                keys.insert(SessionKey(pid: pid, backendStart: try row.decode(String.self, "backend_start")))
            }
        }
        return keys
    }

    /// Which of `keys` are still there (same pid, same backend start).
    private func liveKeys(_ keys: Set<SessionKey>, on connection: Connection) async throws -> Set<SessionKey> {
        guard !keys.isEmpty else { return [] }
        var live: Set<SessionKey> = []
        for row in try await connection.query(Queries.clientSessions).rows {
            let key = SessionKey(
                pid: try row.require(Int32.self, "pid"),
                backendStart: try row.decode(String.self, "backend_start")
            )
            if keys.contains(key) { live.insert(key) }
        }
        return live
    }

    /// The processes of the run still running: those whose environment carries the run's `PGAPPNAME`, and
    /// pgwarden's own descendants (the migration's daemonised children, adopted by pgwarden as their subreaper).
    func processes() -> [ProcessEntry] {
        let own = getpid()
        var found: [Int32: ProcessEntry] = [:]
        for entry in ProcFileSystem.snapshot().entries.values
        where entry.pid != own && ProcFileSystem.environment(of: entry.pid, contains: "PGAPPNAME", applicationName) {
            found[entry.pid] = entry
        }
        if adoptsDescendants {
            for entry in Subreaper.descendants() where !adoptedBefore.contains(entry.identity) {
                found[entry.pid] = entry
            }
        }
        return found.values.filter(\.identity.isRunning).sorted { $0.pid < $1.pid }
    }

    /// SIGTERM to each, SIGKILL after 2 s to those still running; each checked by pid and start time.
    private func stopProcesses(_ found: [ProcessEntry], _ outcome: inout Outcome) async {
        guard !found.isEmpty else { return }
        let results = await ProcessStopper.stop(found.map { .process($0.identity) }, grace: .seconds(2))
        for process in found {
            let killed = results[.process(process.identity)] == .killed
            outcome.stoppedProcesses.append(
                "pid \(process.pid)\(killed ? " (SIGKILL)" : ""): \(Redaction.redact(process.commandLine))"
            )
            Subreaper.reap(process.pid)
        }
    }
}
