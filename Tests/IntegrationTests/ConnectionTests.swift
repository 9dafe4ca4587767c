import Foundation
import Postgres
import TestSupport
import Testing

/// The libpq wrapper on its own: parameters, results, errors with the server's fields, notices.
@Suite("Postgres connection", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct ConnectionTests {
    @Test("parameters are bound, never pasted; NULLs and arrays round-trip")
    func parameters() async throws {
        let connection = try await TestCluster.administrator()
        let hostile = "'); DROP TABLE pg_class; --"
        let row = try await connection.query(
            "SELECT $1::text AS text, $2::int4 AS missing, $3::int4[] AS pids, $4::bool AS flag",
            [hostile, nil, [Int32(3), 1, 2], true]
        ).rows[0]
        #expect(try row.text("text") == hostile)
        #expect(try row.decode(Int32.self, "missing") == nil)
        #expect(try row.decode([Int32].self, "pids") == [3, 1, 2])
        #expect(try row.decode(Bool.self, "flag") == true)
        #expect(throws: PostgresError.self) { try row.text("nope") }
    }

    @Test("a server error carries SQLSTATE, detail and hint")
    func serverError() async throws {
        let connection = try await TestCluster.administrator()
        let error = await #expect(throws: PostgresError.self) {
            try await connection.query(
                "DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '22012', DETAIL = 'the detail', HINT = 'the hint'; END $$"
            )
        }
        #expect(error?.code == .server)
        #expect(error?.message == "boom")
        #expect(error?.sqlState == "22012")
        #expect(error?.detail == "the detail")
        #expect(error?.hint == "the hint")
        // The connection is still usable afterwards.
        #expect(try await connection.query("SELECT 1 AS one").rows.count == 1)
    }

    @Test("notices are collected with the result, not printed")
    func notices() async throws {
        let connection = try await TestCluster.administrator()
        let result = try await connection.query("SELECT pg_cancel_backend(999999) AS signalled")
        #expect(result.notices.map(\.severity) == ["WARNING"])
        #expect(result.notices.first?.message.hasPrefix("PID 999999 is not a PostgreSQL") == true)
    }

    @Test("a terminated session reports connectionLost; a closed one too")
    func lostConnection() async throws {
        let admin = try await TestCluster.administrator()
        let victim = try await TestCluster.administrator()
        _ = try await admin.query("SELECT pg_terminate_backend($1::int4, 3000)", [await victim.backendPID])
        let error = await #expect(throws: PostgresError.self) { try await victim.query("SELECT 1") }
        #expect(error?.code == .connectionLost)
        await admin.close()
        let closed = await #expect(throws: PostgresError.self) { try await admin.query("SELECT 1") }
        #expect(closed?.code == .connectionLost)
    }

    @Test("a failed connect throws and is finished: no socket left open")
    func failedConnect() async throws {
        // The server accepted each socket, then refused the session; a wrapper that
        // forgot PQfinish would keep one descriptor per attempt: 300 of them.
        let openDescriptors = { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
        let before = try openDescriptors()
        for _ in 0..<300 {
            let error = await #expect(throws: PostgresError.self) {
                try await Connection.connect(
                    ConnectionConfiguration(connectionString: "dbname=pgw_missing", applicationName: "x"),
                    logger: TestCluster.logger
                )
            }
            #expect(error?.code == .connectionFailed)
        }
        // A leak keeps 300; suites running meanwhile in this process hold up to ~110 sessions of their own
        // (the commit storm holds 62, the lock view 41).
        #expect(try openDescriptors() - before < 250)
    }

    @Test("an unparseable connection string is its own error")
    func invalidConnectionString() async throws {
        let error = await #expect(throws: PostgresError.self) {
            try await Connection.connect(
                ConnectionConfiguration(connectionString: "postgresql://[::1", applicationName: "x"),
                logger: TestCluster.logger
            )
        }
        #expect(error?.code == .invalidConnectionString)
    }
}
