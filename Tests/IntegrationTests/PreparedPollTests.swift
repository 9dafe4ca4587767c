import LockInspection
import PGWardenSQL
import Postgres
import TestSupport
import Testing

/// The statements a poll runs several times a second are planned once per session, and a
/// session that cannot keep a prepared statement (a pooler in transaction mode, a name taken)
/// still gets exact answers.
@Suite("Prepared poll statements", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct PreparedPollTests {
    @Test("a series of polls runs both statements prepared, on plans the session keeps")
    func preparedOnce() async throws {
        try await ScratchDatabase.with { database in
            let (reader, _, _, alter) = try await database.alterBehindIdleReader("alembic")
            let inspector = try await database.inspector()
            for _ in 0..<3 {
                #expect(try await inspector.poll().wait(of: alter.pid) != nil)
            }

            let prepared = try await preparedStatements(on: inspector.connection)
            let waits = try #require(prepared[Queries.lockWaits])
            #expect(waits.custom == 0 && waits.generic == 3)
            #expect(prepared[Queries.waitingBackends] != nil)
            #expect(prepared.count == 2)

            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test("a prepared statement the session lost (DEALLOCATE ALL, as a pooler may send): the poll runs it unnamed")
    func statementLost() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, _, alter) = try await database.alterBehindIdleReader("alembic")
            let inspector = try await database.inspector()
            #expect(try await inspector.poll().wait(of: alter.pid)?.blockedBy == [readerPID])

            _ = try await inspector.connection.query("DEALLOCATE ALL")
            for _ in 0..<2 {
                #expect(try await inspector.poll().wait(of: alter.pid)?.blockedBy == [readerPID])
            }
            #expect(try await preparedStatements(on: inspector.connection).isEmpty)

            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test("a name already taken on the session by another text is never run: the poll runs its own text unnamed")
    func nameTaken() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, _, alter) = try await database.alterBehindIdleReader("alembic")
            let inspector = try await database.inspector()
            for text in [Queries.waitingBackends, Queries.lockWaits] {
                let name = PreparedStatement(text).name
                _ = try await inspector.connection.query("PREPARE \(name) AS SELECT 1 AS pid, 0::oid AS database_oid")
            }

            let snapshot = try await inspector.poll()

            #expect(snapshot.wait(of: alter.pid)?.blockedBy == [readerPID])
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    /// The session's protocol-level prepared statements: text → how often each kind of plan ran.
    private func preparedStatements(on connection: Connection) async throws -> [String: (generic: Int, custom: Int)] {
        let rows = try await connection.query(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE NOT from_sql"
        ).rows
        var statements: [String: (generic: Int, custom: Int)] = [:]
        for row in rows {
            statements[try row.require(String.self, "statement")] = (
                try row.require(Int.self, "generic_plans"), try row.require(Int.self, "custom_plans")
            )
        }
        return statements
    }
}
