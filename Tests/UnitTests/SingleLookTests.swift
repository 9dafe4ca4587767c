import FoundationEssentials
import PGWardenSQL
import Testing

@testable import LockInspection
@testable import Postgres

@Suite("Locks: the single look's statements")
struct SingleLookTests {
    @Test("the queries the other paths run, as they are, in order; the hazards' oldest transactions a parameter")
    func sharedQueries() {
        let statements = SingleLook.statements(serverVersion: 150_018, scope: .currentDatabase)
        #expect(
            statements.map(\.sql)
                == [Queries.sessionRole, Queries.lockWaits, Queries.lockHazards, Queries.waitsInOtherDatabases]
        )
        #expect(statements.map(\.parameters) == [[], [], ["3"], []])
    }

    @Test("--all-databases: the role and the waits alone")
    func allDatabases() {
        let statements = SingleLook.statements(serverVersion: 150_018, scope: .allDatabases)
        #expect(statements.map(\.sql) == [Queries.sessionRole, Queries.lockWaits])
    }

    @Test("before PostgreSQL 14 the waits read no pg_locks.waitstart, as a poll's do")
    func beforeWaitStart() {
        let old = SingleLook.statements(serverVersion: 130_010, scope: .currentDatabase)[1].sql
        #expect(old == Queries.lockWaits(serverVersion: 130_010) && !old.contains(Queries.waitStartColumn))
    }

    @Test("nothing waits here: the hazards and the other databases' waits are decoded")
    func decodesNothingWaiting() throws {
        let look = try SingleLook(
            Self.results(
                hazards: [["kind": "oldest", "pid": "42", "xact_seconds": "2.5"]],
                elsewhere: [["datname": "other", "waiting": "2"]]
            ),
            scope: .currentDatabase,
            takenAt: Date(timeIntervalSince1970: 0)
        )
        #expect(look.role.role == "app" && look.role.databaseOID == 5 && look.role.serverVersion == 150_018)
        #expect(look.snapshot.isEmpty)
        #expect(look.snapshot.hazards?.oldest.map(\.pid) == [42])
        #expect(look.elsewhere.map(\.database) == ["other"] && look.elsewhere.map(\.count) == [2])
    }

    @Test("a wait here: the snapshot has it, and neither hazards nor other databases are shown")
    func decodesWait() throws {
        let look = try SingleLook(
            Self.results(
                waits: [Self.session(7, blockedBy: "{8}"), Self.session(8)],
                hazards: [["kind": "oldest", "pid": "8"]],
                elsewhere: [["datname": "other", "waiting": "1"]]
            ),
            scope: .currentDatabase,
            takenAt: Date(timeIntervalSince1970: 0)
        )
        #expect(look.snapshot.waits.map(\.pid) == [7])
        #expect(look.snapshot.waits.first?.blockedBy == [8])
        #expect(look.snapshot.blockers.map(\.pid) == [8])
        #expect(look.snapshot.hazards == nil && look.elsewhere.isEmpty)
    }

    @Test("--all-databases: a wait in another database is in the snapshot")
    func decodesAllDatabases() throws {
        let waits = [Self.session(7, blockedBy: "{8}", database: "6"), Self.session(8)]
        let here = try SingleLook(Self.results(waits: waits), scope: .currentDatabase, takenAt: Date())
        #expect(here.snapshot.isEmpty)
        let everywhere = try SingleLook(
            Array(Self.results(waits: waits).prefix(2)),
            scope: .allDatabases,
            takenAt: Date()
        )
        #expect(everywhere.snapshot.waits.map(\.pid) == [7])
        #expect(everywhere.snapshot.hazards == nil)
    }

    @Test("a result missing: an unexpected result, not a look")
    func missingResult() {
        #expect(throws: PostgresError.self) {
            try SingleLook(Array(Self.results().prefix(2)), scope: .currentDatabase, takenAt: Date())
        }
    }

    /// A row of `sql/lock_waits.sql`: session `pid` of database `database`, waiting on
    /// `blockedBy` when given.
    static func session(_ pid: Int32, blockedBy: String? = nil, database: String = "5") -> [String: String] {
        var row = ["pid": "\(pid)", "activity_pid": "\(pid)", "database_oid": database, "state": "active"]
        if let blockedBy {
            row.merge(
                [
                    "blocked_by": blockedBy, "locktype": "relation", "mode": "AccessExclusiveLock",
                    "relation": "public.t", "waiting_seconds": "1.5", "exact_wait_start": "t",
                ]
            ) { $1 }
        }
        return row
    }

    /// The four results of a look: the role's row, and the given rows of the others.
    static func results(
        waits: [[String: String]] = [],
        hazards: [[String: String]] = [],
        elsewhere: [[String: String]] = []
    ) -> [QueryResult] {
        let role = [
            "role": "app", "database": "db", "database_oid": "5", "superuser": "f", "monitor": "t",
            "signal_backend": "t", "server_version_num": "150018", "track_activities": "t",
        ]
        return [
            result(Self.roleColumns, [role]), result(Self.waitColumns, waits),
            result(Self.hazardColumns, hazards), result(["datname", "waiting"], elsewhere),
        ]
    }

    static func result(_ columns: [String], _ rows: [[String: String]]) -> QueryResult {
        QueryResult(columns: columns, values: rows.map { row in columns.map { row[$0] } }, notices: [])
    }

    static let roleColumns = [
        "role", "database", "database_oid", "superuser", "monitor", "signal_backend", "use_reserved_connections",
        "reserved_connections", "server_version_num", "track_activities",
    ]
    static let waitColumns = [
        "pid", "activity_pid", "leader_pid", "database_oid", "blocked_by", "locktype", "mode", "relation", "page",
        "tuple", "virtualxid", "transactionid", "classid", "objid", "objsubid", "waiting_seconds", "exact_wait_start",
        "wait_event_type", "wait_event", "state", "xact_seconds", "state_seconds", "usename", "datname",
        "application_name", "backend_type", "query", "backend_start", "xact_start", "client_addr", "client_port",
        "prepared_gid", "prepared_waiter",
    ]
    static let hazardColumns = [
        "kind", "pid", "usename", "application_name", "state", "xact_seconds", "state_seconds", "query", "relations",
        "strongest",
    ]
}
