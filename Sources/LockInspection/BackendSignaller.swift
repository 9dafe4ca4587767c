import Logging
import PGWardenSQL
import Postgres

/// Cancels or terminates backends, and says plainly what came of it.
public struct BackendSignaller: Sendable {
    /// What to send.
    public enum Action: String, Sendable, Equatable, CaseIterable {
        /// `pg_cancel_backend`: cancel the current statement; the session and its transaction stay.
        case cancel
        /// `pg_terminate_backend`: end the session; its transaction rolls back and its locks go.
        case terminate
    }

    /// What came of one signal.
    public enum Result: Sendable, Equatable {
        /// The server signalled the backend (after a terminate: and the backend has exited).
        case signalled
        /// Signalled, but to no effect: a cancel does not end an idle-in-transaction session's transaction.
        case ineffective(reason: String)
        /// No such backend: it never existed or has already gone.
        case noSuchBackend
        /// The role may not signal it; the text says which privilege is missing.
        case notPermitted(reason: String)
        /// The server or the connection failed.
        case failed(reason: String)

        /// True when the action was carried out (even if to no effect).
        public var isSuccess: Bool {
            switch self {
            case .signalled, .ineffective: true
            case .noSuchBackend, .notPermitted, .failed: false
            }
        }
    }

    /// The outcome of signalling one backend.
    public struct Outcome: Sendable, Equatable {
        /// The backend.
        public let pid: Int32
        /// What was sent.
        public let action: Action
        /// The backend's state just before, when it could be read.
        public let stateBefore: String?
        /// What came of it.
        public let result: Result
    }

    /// The session the signals are sent from.
    public let connection: Connection
    /// Its role.
    public let role: SessionRole
    /// How long a terminate waits for the backend to exit, so that its locks are gone on return.
    public var terminateWaitMilliseconds: Int = 3_000

    /// Creates a signaller on an open pgwarden session.
    public init(connection: Connection, role: SessionRole) {
        self.connection = connection
        self.role = role
    }

    /// Sends `action` to `pid`.
    public func signal(_ pid: Int32, _ action: Action) async -> Outcome {
        let target: Row
        do {
            guard let row = try await connection.query(Queries.backendToSignal, [pid]).rows.first else {
                return Outcome(pid: pid, action: action, stateBefore: nil, result: .noSuchBackend)
            }
            target = row
        } catch {
            return Outcome(pid: pid, action: action, stateBefore: nil, result: .failed(reason: error.description))
        }
        let state = try? target.decode(String.self, "state")
        let owner = (try? target.decode(String.self, "usename")) ?? "?"
        if (try? target.decode(Bool.self, "superuser")) == true, !role.superuser {
            return Outcome(
                pid: pid,
                action: action,
                stateBefore: state,
                result: .notPermitted(
                    reason: "pid \(pid) belongs to superuser \(owner): only a superuser may signal it"
                )
            )
        }
        let result = await send(action, to: pid, owner: owner)
        if case .signalled = result, action == .cancel, state?.hasPrefix("idle in transaction") == true {
            return Outcome(
                pid: pid,
                action: action,
                stateBefore: state,
                result: .ineffective(
                    reason: "pid \(pid) is \(state!): a cancel does not end its transaction nor release its locks"
                )
            )
        }
        return Outcome(pid: pid, action: action, stateBefore: state, result: result)
    }

    private func send(_ action: Action, to pid: Int32, owner: String) async -> Result {
        do {
            let result =
                switch action {
                case .cancel: try await connection.query(Queries.cancelBackend, [pid])
                case .terminate: try await connection.query(Queries.terminateBackend, [pid, terminateWaitMilliseconds])
                }
            if try result.rows.first?.decode(Bool.self, "signalled") == true { return .signalled }
            if result.notices.contains(where: { $0.message.contains("is not a PostgreSQL") }) { return .noSuchBackend }
            let reason = result.notices.first?.message ?? "the server did not signal pid \(pid)"
            return .failed(reason: reason)
        } catch  where error.isInsufficientPrivilege {
            return .notPermitted(
                reason: "role \(role.role) may not signal pid \(pid) (role \(owner)):"
                    + " it needs pg_signal_backend, or membership in role \(owner)"
            )
        } catch {
            return .failed(reason: error.description)
        }
    }
}
