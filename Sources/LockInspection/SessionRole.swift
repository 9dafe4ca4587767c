import PGWardenSQL
import Postgres

/// Who pgwarden's session is on the server, and what it may see and do.
package struct SessionRole: Sendable, Equatable {
    /// `current_user`.
    package var role: String
    /// `current_database()`.
    package var database: String
    /// The current database's oid, to scope lock waits to it.
    package var databaseOID: UInt32
    /// Whether the role is a superuser.
    package var superuser: Bool
    /// Whether the role has `pg_monitor`: without it, other roles' queries read `<insufficient privilege>`.
    package var monitor: Bool
    /// Whether the role has `pg_signal_backend`: without it, only its own roles' sessions can be signalled.
    package var signalBackend: Bool
    /// `server_version_num`, such as `150018`.
    package var serverVersion: Int
    /// Whether `track_activities` is on, so that backends record when their transaction started.
    package var tracksActivities: Bool = true
    /// Whether the role has `pg_use_reserved_connections` (PostgreSQL 16+; `nil` before, where it does not exist).
    package var usesReservedConnections: Bool?
    /// `reserved_connections`: the slots kept for members of `pg_use_reserved_connections` (16+; `nil` before).
    package var reservedConnections: Int?

    /// The server's major version, such as `16`.
    package var serverMajor: Int { serverVersion / 10000 }

    /// The server's version as `server_version` states it in reports and `--json`: `16.2`, `18.6`.
    package var serverVersionText: String { "\(serverMajor).\(serverVersion % 10000)" }

    /// Whether every backend's transaction start can be read: the role sees every session and
    /// backends record it. The idle poll then passes over backends outside a transaction cheaply.
    package var seesTransactionStarts: Bool { monitor && tracksActivities }

    /// Whether `pg_locks.waitstart` exists (PostgreSQL 14+), giving exact wait starts.
    package var hasWaitStart: Bool { serverVersion >= 140000 }

    /// Whether pgwarden can still connect once ordinary sessions fill `max_connections` (the pile-up
    /// it is there to clear): as a superuser (`superuser_reserved_connections`), or, from
    /// PostgreSQL 16, as a member of `pg_use_reserved_connections` while `reserved_connections` > 0.
    package var connectsWhenSlotsRunOut: Bool {
        superuser || (usesReservedConnections == true && (reservedConnections ?? 0) > 0)
    }

    /// Reads the role of `connection`'s session.
    package static func read(on connection: Connection) async throws(PostgresError) -> SessionRole {
        try SessionRole(try await connection.query(Queries.sessionRole))
    }

    /// What an operator should know before trusting the view: missing privileges, an old server.
    package var limitations: [String] {
        var notes: [String] = []
        if !monitor {
            notes.append(
                "role \(role) is not a member of pg_monitor: other roles' queries read <insufficient privilege>,"
                    + " and their waits are found through pg_locks on every poll"
            )
        }
        if !tracksActivities {
            notes.append(
                "track_activities is off: sessions' states and queries are not recorded,"
                    + " and every backend is asked for its wait event on every poll"
            )
        }
        if serverMajor >= 16, !connectsWhenSlotsRunOut {
            notes.append(
                "role \(role) cannot use reserved connections: once a pile-up fills max_connections,"
                    + " pgwarden cannot connect (grant it pg_use_reserved_connections and set reserved_connections)"
            )
        }
        if !hasWaitStart {
            notes.append(
                "PostgreSQL \(serverVersion / 10000) has no pg_locks.waitstart (14+):"
                    + " wait times are measured from the waiter's state_change"
            )
        }
        return notes
    }

    /// What an operator should know before letting this role act: the view's limitations, and
    /// the privileges that signalling other roles' sessions needs.
    package var actingLimitations: [String] {
        var notes = limitations
        if !superuser, !signalBackend {
            notes.append(
                "role \(role) is not a member of pg_signal_backend: it may signal only its own roles' sessions;"
                    + " every other action will be audited failed (GRANT pg_signal_backend TO \(role))"
            )
        }
        return notes
    }

    /// The ``actingLimitations`` this role has that `old` did not: what a privilege revoked, or a
    /// setting changed, while pgwarden ran takes away.
    package func limitationsAdded(since old: SessionRole) -> [String] {
        let before = Set(old.actingLimitations)
        return actingLimitations.filter { !before.contains($0) }
    }
}

extension SessionRole {
    /// Decodes the row of `sql/session_role.sql`.
    init(_ result: QueryResult) throws(PostgresError) {
        guard let row = result.rows.first else {
            throw PostgresError(code: .unexpectedResult, message: "session_role.sql returned no row")
        }
        self.init(
            role: try row.require(String.self, "role"),
            database: try row.require(String.self, "database"),
            databaseOID: UInt32(try row.require(Int.self, "database_oid")),
            superuser: try row.decode(Bool.self, "superuser") ?? false,
            monitor: try row.require(Bool.self, "monitor"),
            signalBackend: try row.require(Bool.self, "signal_backend"),
            serverVersion: try row.require(Int.self, "server_version_num"),
            tracksActivities: try row.require(Bool.self, "track_activities"),
            usesReservedConnections: try row.decode(Bool.self, "use_reserved_connections"),
            reservedConnections: try row.decode(Int.self, "reserved_connections")
        )
    }
}
