import LockInspection
import Logging
import PGWardenSQL
import Postgres
import Synchronization
import WardenSupport

/// Notices at once when the migration's statement was cancelled, or its session terminated, by
/// someone other than this run: the migration relays PostgreSQL's own words ("canceling statement
/// due to user request", "terminating connection due to administrator command") in its output, and
/// this run sent it no such signal. Then it says so, and what pgwarden can see of who
/// (`sql/signalling_sessions.sql`).
final class OutsideSignalWatch: Sendable {
    /// What PostgreSQL (or libpq) said happened to the migration's statement.
    enum Kind: String, Sendable {
        case cancelled = "canceling statement due to user request"
        case terminated = "terminating connection due to administrator command"
        /// libpq's words when the server ended the session before the client read why: psycopg2 waiting on
        /// a lock and terminated says only this.
        case closed = "server closed the connection unexpectedly"

        /// The kind whose words `line` relays, if any.
        static func relayed(in line: String) -> Kind? {
            [.cancelled, .terminated, .closed].first { line.contains($0.rawValue) }
        }

        /// What it means, said by the log.
        var meaning: String {
            switch self {
            case .cancelled: "the migration's statement was cancelled by another session, not by this run"
            case .terminated, .closed:
                "the migration's session was terminated by another session (or the server shut down), not by this run"
            }
        }

        /// The words relayed, and by whom.
        var evidence: String { self == .closed ? "libpq: \(rawValue)" : "PostgreSQL: \(rawValue)" }
    }

    private struct State {
        var said: Set<String> = []
        /// A cancel or terminate from outside, relayed since a wait's end last took it into account.
        var unconsumed = false
        var ownSignals = 0
        var ownPIDs: [Int32] = []
        var lookups: [Task<Void, Never>] = []
        var warnings: [String] = []
    }

    private let state = Mutex(State())
    private let log: RunLog
    private let connectionString: String?
    private let logger: Logger

    init(log: RunLog, connectionString: String?, logger: Logger) {
        self.log = log
        self.connectionString = connectionString
        self.logger = logger
    }

    /// This run signalled the migration's statement itself (`--max-lock-wait`): what follows is its doing.
    func runSignalled() { state.withLock { $0.ownSignals += 1 } }

    /// This run's own sessions, left out of who.
    func setOwnPIDs(_ pids: Set<Int32>) { state.withLock { $0.ownPIDs = pids.sorted() } }

    /// Whether the migration has relayed a cancel or a terminate that this run did not send since the last call:
    /// the wait that ends now ended by it, not by the lock being granted. Taken once: a later wait (the
    /// migration retried) is judged by PostgreSQL's own answer again.
    func takeNotice() -> Bool {
        state.withLock { state in
            defer { state.unconsumed = false }
            return state.unconsumed
        }
    }

    /// What the report's warnings should say.
    var warnings: [String] { state.withLock { $0.warnings } }

    /// Reads a line the migration printed.
    func read(_ line: String) {
        guard let kind = Kind.relayed(in: line) else { return }
        let first = state.withLock { state -> Bool in
            guard state.ownSignals == 0 else { return false }
            state.unconsumed = true
            return state.said.insert(kind.meaning).inserted
        }
        guard first else { return }
        let what = kind.meaning
        log.warn("\(what) (\(kind.evidence))")
        let lookup = Task { await self.sayWho(what) }
        state.withLock { $0.lookups.append(lookup) }
    }

    /// Waits for the lookups of who to be said.
    func settle() async {
        for lookup in state.withLock({ $0.lookups }) { await lookup.value }
    }

    private func sayWho(_ what: String) async {
        let own = state.withLock { $0.ownPIDs }
        var seen: [String] = []
        do {
            let (connection, _) = try await InspectorSession.open(connectionString: connectionString, logger: logger)
            defer { Task { await connection.close() } }
            for row in try await connection.query(Queries.signallingSessions, [own]).rows {
                seen.append(try Self.describe(row))
            }
        } catch {
            seen = []
            log.warn("cannot look for who signalled it: \(error.message)")
        }
        let who =
            seen.isEmpty
            ? "pgwarden sees no session that called pg_cancel_backend or pg_terminate_backend, nor another pgwarden"
                + " (without pg_monitor, other roles' statements cannot be read; a guard's audit log or the server log names who)"
            : "seen from here: " + seen.joined(separator: "; ")
        log.say("who: \(who)")
        state.withLock { $0.warnings.append("\(what); \(who)") }
    }

    /// `pid 123 (role ops, application pgwarden, from 10.0.0.5, idle) ran pg_cancel_backend 0.3s ago`.
    private static func describe(_ row: Postgres.Row) throws(PostgresError) -> String {
        var parts: [String] = []
        if let user = try row.decode(String.self, "usename") { parts.append("role \(user)") }
        if let name = try row.decode(String.self, "application_name"), !name.isEmpty {
            parts.append("application \(name)")
        }
        if let address = try row.decode(String.self, "client_addr") { parts.append("from \(address)") }
        if let state = try row.decode(String.self, "state") { parts.append(state) }
        let ago = try row.decode(Double.self, "seconds_ago").map { " \(DurationSyntax.format(seconds: $0)) ago" } ?? ""
        let did =
            try row.decode(Bool.self, "signals") == true
            ? " last ran pg_cancel_backend or pg_terminate_backend\(ago)" : " (another pgwarden: a guard?)"
        return "pid \(try row.require(Int32.self, "pid")) (\(parts.joined(separator: ", ")))\(did)"
    }
}
