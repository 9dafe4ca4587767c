import Logging
import PGWardenSQL
import Postgres
import Response

/// Cancels or terminates backends — only the session that was judged — and says what
/// PostgreSQL returned.
///
/// Every signal is one statement (`sql/signal_backend.sql`) that finds the backend, compares
/// it with the identity the decision was made on (pid and `backend_start`; for a decision
/// about a transaction or state, `xact_start` and `state`; for a blocker, that it still
/// blocks the waiter it was judged for) and sends the signal only if all of it still holds.
package struct BackendSignaller: Sendable {
    /// What one signal found and what came of it.
    package struct Report: Sendable, Equatable {
        /// The request as sent.
        package let request: SignalRequest
        /// What PostgreSQL returned.
        package let outcome: SignalOutcome
        /// The session's state when the statement ran, if it exists.
        package let state: String?
        /// Its `query_start`, if it exists.
        package let queryStart: String?
        /// Its `backend_start`, if it exists.
        package let backendStart: String?
        /// Set when pgwarden's own connection broke: the outcome is then unknown.
        package var connectionError: PostgresError? = nil
    }

    /// The session the signals are sent from.
    package let connection: Connection
    /// Its role.
    package let role: SessionRole
    /// How long a terminate waits for the backend to exit, so that its locks are gone on return.
    package var terminateWaitMilliseconds: Int = 3_000

    /// Creates a signaller on an open pgwarden session.
    package init(connection: Connection, role: SessionRole) {
        self.connection = connection
        self.role = role
    }

    /// Sends `action` to whatever session has `pid` now (`pgwarden cancel PID`): the report
    /// says what it signalled.
    package func signal(_ pid: Int32, _ action: SignalAction) async -> Report {
        await send(
            SignalRequest(
                action: action,
                target: SessionIdentity(
                    key: SessionKey(pid: pid, backendStart: nil),
                    xactStart: nil,
                    state: nil,
                    checksTransaction: false
                )
            )
        )
    }

    /// Sends `request` if the session is still the one judged.
    package func send(_ request: SignalRequest) async -> Report {
        let target = request.target
        let parameters: [(any PostgresEncodable)?] = [
            target.pid, request.action.rawValue, terminateWaitMilliseconds,
            target.key.backendStart,
            target.checksTransaction ? target.xactStart : nil,
            target.checksTransaction ? target.state : nil,
            request.waiter,
            target.checksTransaction ? target.queryStart : nil,
        ]
        let result: QueryResult
        do {
            result = try await connection.query(Queries.signalBackend, parameters)
        } catch {
            let broken = error.code == .connectionLost || error.code == .connectionFailed
            return Report(
                request: request,
                outcome: Self.outcome(of: error, request, role),
                state: nil,
                queryStart: nil,
                backendStart: nil,
                connectionError: broken ? error : nil
            )
        }
        guard let row = result.rows.first else {
            return Report(request: request, outcome: .gone, state: nil, queryStart: nil, backendStart: nil)
        }
        let found: Found
        do {
            found = try Found(row)
        } catch {
            // The statement ran: a signal may have been sent. Say so rather than guess.
            let reason = "the answer of the signal statement could not be read (\(error.message)): it may have been sent"
            return Report(
                request: request,
                outcome: .failed(sqlstate: nil, reason: reason),
                state: nil,
                queryStart: nil,
                backendStart: nil
            )
        }
        return Report(
            request: request,
            outcome: found.outcome(of: request, role: role, notices: result.notices),
            state: found.state,
            queryStart: found.queryStart,
            backendStart: found.backendStart
        )
    }

    private static func outcome(of error: PostgresError, _ request: SignalRequest, _ role: SessionRole)
        -> SignalOutcome
    {
        if error.isInsufficientPrivilege {
            return .failed(
                sqlstate: error.sqlState,
                reason: "role \(role.role) may not signal pid \(request.target.pid):"
                    + " it needs pg_signal_backend, or membership in the session's role"
            )
        }
        return .failed(sqlstate: error.sqlState, reason: error.message)
    }
}

/// One row of `sql/signal_backend.sql`.
private struct Found {
    let state: String?
    let queryStart: String?
    let backendStart: String?
    let xactStart: String?
    let usename: String
    let superuser: Bool
    let permitted: Bool
    let sameSession: Bool
    let sameTransaction: Bool
    let sameState: Bool
    let sameQuery: Bool
    let stillBlocks: Bool
    let signalled: Bool?

    init(_ row: Row) throws(PostgresError) {
        state = try row.decode(String.self, "state")
        queryStart = try row.decode(String.self, "query_start")
        backendStart = try row.decode(String.self, "backend_start")
        xactStart = try row.decode(String.self, "xact_start")
        usename = try row.decode(String.self, "usename") ?? "?"
        superuser = try row.decode(Bool.self, "superuser") ?? false
        permitted = try row.decode(Bool.self, "permitted") ?? false
        sameSession = try row.decode(Bool.self, "same_session") ?? false
        sameTransaction = try row.decode(Bool.self, "same_transaction") ?? false
        sameState = try row.decode(Bool.self, "same_state") ?? false
        sameQuery = try row.decode(Bool.self, "same_query") ?? false
        stillBlocks = try row.decode(Bool.self, "still_blocks") ?? false
        signalled = try row.decode(Bool.self, "signalled")
    }

    func outcome(of request: SignalRequest, role: SessionRole, notices: [ServerNotice]) -> SignalOutcome {
        let pid = request.target.pid
        if !sameSession {
            return .changed(now: "pid \(pid) is another session now (started \(backendStart ?? "?"))")
        }
        if !sameTransaction {
            return .changed(
                now: "its transaction ended since it was judged"
                    + (xactStart.map { "; a new one started at \($0)" } ?? "; it is \(state ?? "?") now")
            )
        }
        if !sameState { return .changed(now: "it is \(state ?? "?") now, not \(request.target.state ?? "?")") }
        if !sameQuery {
            return .changed(
                now: "it ran a statement since it was judged (query_start \(queryStart ?? "?"), not"
                    + " \(request.target.queryStart ?? "?"))"
            )
        }
        if !stillBlocks { return .changed(now: "it no longer blocks pid \(request.waiter.map(String.init) ?? "?")") }
        if !permitted {
            return .failed(
                sqlstate: "42501",
                reason: superuser
                    ? "pid \(pid) belongs to superuser \(usename): only a superuser may signal it"
                    : "role \(role.role) may not signal pid \(pid) (role \(usename)):"
                        + " it needs pg_signal_backend, or membership in role \(usename)"
            )
        }
        guard signalled == true else {
            if notices.contains(where: { $0.message.contains("is not a PostgreSQL") }) { return .gone }
            return .failed(sqlstate: nil, reason: notices.first?.message ?? "the server did not signal pid \(pid)")
        }
        if request.action == .cancel, let state, state.hasPrefix("idle in transaction") {
            return .ineffective(
                reason: "pid \(pid) is \(state): a cancel does not end its transaction nor release its locks"
            )
        }
        return .signalled
    }
}
