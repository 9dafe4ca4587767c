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

    @Test("a pipeline runs in order in one round trip; after a refusal the rest are not run, and the session goes on")
    func pipeline() async throws {
        let connection = try await TestCluster.administrator()
        let outcomes = try await connection.pipeline([
            "BEGIN", "CREATE TEMP TABLE piped (id int)", "SELECT count(*) AS n FROM piped", "SELECT 1/0",
            "SELECT 2", "COMMIT",
        ])
        #expect(outcomes.count == 6)
        guard case .ran(let counted) = outcomes[2] else { Issue.record("\(outcomes[2])"); return }
        #expect(try counted.rows[0].require(Int.self, "n") == 0)  // the table the statement before created
        guard case .failed(let error) = outcomes[3] else { Issue.record("\(outcomes[3])"); return }
        #expect(error.sqlState == "22012")
        for outcome in outcomes[4...] {
            guard case .notRun = outcome else { Issue.record("\(outcome)"); continue }
        }
        _ = try await connection.query("ROLLBACK")
        #expect(try await connection.query("SELECT 1 AS one").rows.count == 1)
        #expect(
            try await connection.query("SELECT to_regclass('pg_temp.piped') IS NULL AS gone").rows[0].require(
                Bool.self,
                "gone"
            )
        )
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
        // Over TCP the server accepts each socket, then refuses the session and closes its end; a wrapper that
        // forgot PQfinish keeps its end in CLOSE_WAIT, one per attempt. Counting those sockets of this process
        // (not all its descriptors) leaves out the sessions that suites running meanwhile hold.
        let port = try #require(ProcessInfo.processInfo.environment["PGPORT"].flatMap(Int.init))
        let before = try PeerClosedSockets.count(toPort: port)
        for _ in 0..<300 {
            let error = await #expect(throws: PostgresError.self) {
                try await Connection.connect(
                    ConnectionConfiguration(
                        connectionString: "host=127.0.0.1 port=\(port) dbname=pgw_missing",
                        applicationName: "x"
                    ),
                    logger: TestCluster.logger
                )
            }
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.contains("\"pgw_missing\" does not exist") == true)
        }
        let left = try PeerClosedSockets.count(toPort: port) - before
        #expect(left == 0, "\(left) sockets of refused connections are still open")
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

/// This process's TCP sockets to 127.0.0.1:`port` whose peer has closed (CLOSE_WAIT): what a connection
/// that was refused and never finished leaves behind.
private enum PeerClosedSockets {
    static func count(toPort port: Int) throws -> Int {
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        let ownSockets = Set(
            descriptors.compactMap { name -> String? in
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)"),
                    target.hasPrefix("socket:[")
                else { return nil }
                return String(target.dropFirst("socket:[".count).dropLast())
            }
        )
        let closeWait = "08"
        let remote = String(format: "0100007F:%04X", port)
        // Read to its end: a procfs file reports size 0, and String(contentsOfFile:) stops after the first page.
        let table = String(
            decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/net/tcp")).readToEnd() ?? Data(),
            as: UTF8.self
        )
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 9 && fields[2] == remote && fields[3] == closeWait
                && ownSockets.contains(String(fields[9]))
        }.count
    }
}
