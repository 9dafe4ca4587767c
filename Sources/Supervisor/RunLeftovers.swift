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
    func settle(grace: Duration, interrupted: @Sendable () -> Bool = { false }) async -> Outcome {
        var outcome = Outcome()
        let connection: Connection
        let role: SessionRole
        do {
            (connection, role) = try await InspectorSession.open(connectionString: connectionString, logger: logger)
        } catch {
            outcome.checkFailed = "cannot connect to check for the run's sessions: \(error.description)"
            stopProcesses(&outcome)
            return outcome
        }
        defer { Task { await connection.close() } }
        do {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: grace)
            while clock.now < deadline, !interrupted() {
                if try await sessions(on: connection).isEmpty, processes().isEmpty { return outcome }
                // Cancelled: the grace ends here; what is left is still stopped below.
                do { try await Task.sleep(for: .milliseconds(100)) } catch { break }
            }
            stopProcesses(&outcome)
            let signaller = BackendSignaller(connection: connection, role: role)
            for key in try await sessions(on: connection) {
                // The session as listed (pid and backend_start): a pid reused since is not signalled. Without
                // its backend_start (pgwarden's role may not read it) the pid alone would name whoever has it
                // by the time the signal arrives: not signalled; it stays in `remaining`, which says so.
                guard key.backendStart != nil else { continue }
                let target = SessionIdentity(key: key, xactStart: nil, state: nil, checksTransaction: false)
                let result = await signaller.send(SignalRequest(action: .terminate, target: target))
                outcome.terminatedSessions.append("pid \(key.pid) (terminate → \(result.outcome.name))")
            }
            outcome.remaining = try await sessions(on: connection).map(\.pid)
        } catch {
            outcome.checkFailed = "cannot check for the run's sessions: \(Supervisor.describe(error))"
        }
        return outcome
    }

    /// The backends whose `application_name` is the run's, with their identity.
    func sessions(on connection: Connection) async throws -> [SessionKey] {
        // A row that cannot be read is an error, not a session left out: a session skipped here would be
        // neither terminated nor counted as remaining.
        try await connection.query(Queries.clientSessions).rows.compactMap { row in
            guard try row.decode(String.self, "application_name") == applicationName else { return nil }
            return SessionKey(
                pid: try row.require(Int32.self, "pid"),
                backendStart: try row.decode(String.self, "backend_start")
            )
        }
    }

    /// The processes, other than pgwarden itself, whose environment carries the run's `PGAPPNAME`.
    func processes() -> [ProcessEntry] {
        let own = getpid()
        return ProcFileSystem.snapshot().entries.values.filter {
            $0.pid != own && ProcFileSystem.environment(of: $0.pid, contains: "PGAPPNAME", applicationName)
        }.sorted { $0.pid < $1.pid }
    }

    /// SIGTERM to each, SIGKILL after 2 s to those still running; each checked by pid and start time.
    private func stopProcesses(_ outcome: inout Outcome) {
        let found = processes()
        guard !found.isEmpty else { return }
        found.forEach { $0.identity.send(SIGTERM) }
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        while found.contains(where: { $0.identity.isRunning }), ContinuousClock.now < deadline { usleep(50_000) }
        for process in found {
            let killed = process.identity.send(SIGKILL)
            outcome.stoppedProcesses.append(
                "pid \(process.pid)\(killed ? " (SIGKILL)" : ""): \(Redaction.redact(process.commandLine))"
            )
        }
    }
}
