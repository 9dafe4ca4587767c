import FoundationEssentials
import WardenSupport

/// What would make a migration wait, when nobody waits yet: sessions idle in transaction that hold relation locks,
/// and the oldest open transactions.
package struct LockHazards: Sendable, Equatable {
    /// One session, as the hazard names it.
    package struct Session: Sendable, Equatable {
        package var pid: Int32
        package var usename: String?
        package var applicationName: String?
        package var state: String?
        package var transactionSeconds: Double
        package var stateSeconds: Double
        /// The query text with its password literals masked (``QueryTextRedaction``), however it is set:
        /// every output (text, JSON, audit log, run report, status line) shows this.
        package var query: String? { didSet { query = query.map(QueryTextRedaction.masked) } }
        /// For a session idle in transaction: the tables it holds locks on, and its strongest mode.
        package var relations: [String] = []
        package var strongestMode: String?

        package init(
            pid: Int32,
            usename: String?,
            applicationName: String?,
            state: String?,
            transactionSeconds: Double,
            stateSeconds: Double,
            query: String?
        ) {
            self.pid = pid
            self.usename = usename
            self.applicationName = applicationName
            self.state = state
            self.transactionSeconds = transactionSeconds
            self.stateSeconds = stateSeconds
            self.query = query.map(QueryTextRedaction.masked)
        }
    }

    /// Sessions idle in transaction holding relation locks, longest first.
    package var idleHolders: [Session]
    /// The oldest open transactions, oldest first (those already named as idle holders left out).
    package var oldest: [Session]

    package init(idleHolders: [Session], oldest: [Session]) {
        self.idleHolders = idleHolders.sorted { $0.transactionSeconds > $1.transactionSeconds }
        let named = Set(idleHolders.map(\.pid))
        self.oldest = oldest.filter { !named.contains($0.pid) }
    }

    package var isEmpty: Bool { idleHolders.isEmpty && oldest.isEmpty }

    /// One line each; `visible` makes other sessions' text safe for a terminal.
    package func lines(visible: (String) -> String) -> [String] {
        idleHolders.map { session in
            let tables =
                session.relations.prefix(3).joined(separator: ", ")
                + (session.relations.count > 3 ? " and \(session.relations.count - 3) more" : "")
            return
                "hazard: pid \(session.pid) \(who(session, visible)) is \(visible(session.state ?? "idle in transaction"))"
                + " for \(Self.seconds(session.stateSeconds)) (transaction open \(Self.seconds(session.transactionSeconds)))"
                + " holding \(session.strongestMode ?? "a lock") on \(visible(tables)): a migration's"
                + " AccessExclusiveLock there waits for it, and every later query queues behind; only"
                + " pgwarden cancel --terminate \(session.pid) ends it"
        }
            + oldest.map { session in
                "oldest transaction: pid \(session.pid) \(who(session, visible)) open"
                    + " \(Self.seconds(session.transactionSeconds)), \(visible(session.state ?? "?")): "
                    + visible(
                        String(
                            (session.query ?? "").split(whereSeparator: \.isWhitespace).joined(separator: " ").prefix(
                                80
                            )
                        )
                    )
            }
    }

    private func who(_ session: Session, _ visible: (String) -> String) -> String {
        "("
            + [
                session.usename.map { "role \(visible($0))" },
                session.applicationName.map { "application '\(visible($0))'" },
            ]
            .compactMap { $0 }.joined(separator: ", ") + ")"
    }

    static func seconds(_ value: Double) -> String {
        value >= 120 ? String(printf: "%.0f min", value / 60) : String(printf: "%.0f s", value)
    }

    /// `{"idle_in_transaction": [...], "oldest_transactions": [...]}`.
    package var json: JSONValue {
        func session(_ session: Session) -> JSONValue {
            .object([
                ("pid", .integer(Int(session.pid))), ("usename", .string(session.usename)),
                ("application_name", .string(session.applicationName)), ("state", .string(session.state)),
                ("xact_seconds", .seconds(session.transactionSeconds)),
                ("state_seconds", .seconds(session.stateSeconds)),
                ("relations", .array(session.relations.map(JSONValue.string))),
                ("strongest_mode", .string(session.strongestMode)), ("query", .string(session.query)),
            ])
        }
        return .object([
            ("idle_in_transaction", .array(idleHolders.map(session))),
            ("oldest_transactions", .array(oldest.map(session))),
        ])
    }
}
