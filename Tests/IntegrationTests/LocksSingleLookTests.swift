import LockInspection
import Postgres
import TestSupport
import Testing

/// `pgwarden locks` without `--watch`: its statements, all in the round trip after connecting
/// (``SingleLook``), read what the same queries read one by one.
@Suite(
    "pgwarden locks: the single look",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason)
)
struct LocksSingleLookTests {
    @Test("nothing waits here: the role, the hazards and the other databases' waits, as their own queries read them")
    func nothingWaitsHere() async throws {
        try await ScratchDatabase.with { here in
            try await here.createTable("t")
            let reader = try await here.idleInTransactionReader(of: "t", "monthly-report")
            let readerPID = await reader.backendPID
            try await ScratchDatabase.with { other in
                let outage = try await other.alterBehindIdleReader(checkingDeadlocks: false)
                let (session, look) = try await InspectorSession.openLooking(
                    connectionString: here.connectionString,
                    scope: .currentDatabase,
                    logger: TestCluster.logger
                )
                let inspector = try await here.inspector()
                #expect(look.role == inspector.role)
                #expect(look.snapshot.isEmpty && look.snapshot.blockers.isEmpty)
                let hazards = try #require(look.snapshot.hazards)
                let separately = try await inspector.hazards()
                #expect(hazards.idleHolders.map(\.pid) == [readerPID])
                #expect(hazards.idleHolders.map(\.pid) == separately.idleHolders.map(\.pid))
                #expect(hazards.idleHolders.map(\.relations) == [["public.t"]])
                #expect(hazards.idleHolders.map(\.strongestMode) == separately.idleHolders.map(\.strongestMode))
                #expect(hazards.oldest.map(\.pid) == separately.oldest.map(\.pid))
                // Other tests beside this one have waits of their own, in databases of their own.
                #expect(look.elsewhere.contains { $0.database == other.name && $0.count == 1 }, "\(look.elsewhere)")
                await session.close()
                await inspector.connection.close()
                _ = try await outage.reader.query("ROLLBACK")
                try await outage.waiter.task.value
                await outage.reader.close()
                await outage.observer.close()
            }
            await reader.close()
        }
    }

    @Test("a wait here: the waits and their blockers as a single poll reads them; no hazards, no other databases")
    func waitHere() async throws {
        try await ScratchDatabase.with { database in
            let outage = try await database.alterBehindIdleReader(checkingDeadlocks: false)
            let (session, look) = try await InspectorSession.openLooking(
                connectionString: database.connectionString,
                scope: .currentDatabase,
                logger: TestCluster.logger
            )
            let polled = try await database.inspector().pollReadingLocks()
            #expect(look.snapshot.waits.map(\.pid) == [outage.waiter.pid])
            #expect(look.snapshot.wait(of: outage.waiter.pid)?.blockedBy == [outage.readerPID])
            #expect(look.snapshot.waits.map(\.pid) == polled.waits.map(\.pid))
            #expect(look.snapshot.blockers.map(\.pid) == polled.blockers.map(\.pid))
            #expect(look.snapshot.waits.first?.lock == polled.waits.first?.lock)
            #expect(look.snapshot.hazards == nil && look.elsewhere.isEmpty)

            let everywhere = try await InspectorSession.openLooking(
                connectionString: "dbname=postgres",
                scope: .allDatabases,
                logger: TestCluster.logger
            )
            #expect(everywhere.1.snapshot.wait(of: outage.waiter.pid)?.blockedBy == [outage.readerPID])
            #expect(everywhere.1.snapshot.hazards == nil && everywhere.1.elsewhere.isEmpty)
            await session.close()
            await everywhere.0.close()
            _ = try await outage.reader.query("ROLLBACK")
            try await outage.waiter.task.value
            await outage.reader.close()
            await outage.observer.close()
        }
    }

    @Test("the look's session is named, has short timeouts and looks names up in the catalog first")
    func ownSession() async throws {
        try await ScratchDatabase.with { database in
            let (session, look) = try await InspectorSession.openLooking(
                connectionString: database.connectionString,
                scope: .currentDatabase,
                logger: TestCluster.logger
            )
            let settings = try await session.query(
                "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st,"
                    + " current_setting('lock_timeout') AS lt, current_setting('search_path') AS path,"
                    + " current_setting('jit') AS jit"
            ).rows[0]
            #expect(try settings.text("app") == "pgwarden")
            #expect(try settings.text("st") == "5s")
            #expect(try settings.text("lt") == "1s")
            #expect(try settings.text("path") == "pg_catalog, pg_temp")
            #expect(try settings.text("jit") == "off")
            #expect(look.role.database == database.name && look.role.monitor)
            await session.close()
        }
    }

    @Test("a statement the server refuses, or a setting: its error, and no session")
    func refusedStatement() async throws {
        try await ScratchDatabase.with { database in
            let configuration = InspectorSession.configuration(connectionString: database.connectionString)
            await #expect {
                _ = try await Connection.connect(configuration, logger: TestCluster.logger) { _ in
                    [
                        PipelinedStatement(sql: "SELECT 1 / $1::int", parameters: ["0"]),
                        PipelinedStatement(sql: "SELECT 1"),
                    ]
                }
            } throws: { error in
                (error as? PostgresError)?.code == .server && (error as? PostgresError)?.sqlState == "22012"
            }
            let settings = ConnectionConfiguration(
                connectionString: database.connectionString,
                applicationName: "pgwarden",
                sessionSettings: [("lock_timeout", "soon")]
            )
            await #expect {
                _ = try await Connection.connect(settings, logger: TestCluster.logger) { _ in
                    [PipelinedStatement(sql: "SELECT 1")]
                }
            } throws: { error in
                (error as? PostgresError)?.sqlState == "22023"
            }
        }
    }
}
