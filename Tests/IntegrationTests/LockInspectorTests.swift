import LockInspection
import Postgres
import TestSupport
import Testing
import WaitGraph

/// The wait forest of a real server, with every blocker held by a real second session.
@Suite("Lock inspection against PostgreSQL", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct LockInspectorTests {
    @Test("an idle-in-transaction reader blocks ALTER TABLE, which blocks a later SELECT")
    func chain() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, observer, alter) = try await database.alterBehindIdleReader("alembic")
            let select = try await database.startBlockedStatement("SELECT count(*) FROM t", "web")
            try await database.waitUntilWaiting(select.pid, observer: observer)

            let snapshot = try await database.inspector().pollReadingLocks()

            #expect(snapshot.waits.map(\.pid).sorted() == [alter.pid, select.pid].sorted())
            let alterWait = try #require(snapshot.wait(of: alter.pid))
            #expect(alterWait.blockedBy == [readerPID])
            #expect(
                alterWait.lock == LockTarget(locktype: "relation", mode: "AccessExclusiveLock", relation: "public.t")
            )
            #expect(alterWait.activity.applicationName == "alembic")
            #expect(alterWait.activity.query == "ALTER TABLE t ADD COLUMN c int")
            #expect(alterWait.exactWaitStart && alterWait.waitingSeconds >= 0)
            // The soft block: the SELECT conflicts only with the ALTER queued ahead of it.
            let selectWait = try #require(snapshot.wait(of: select.pid))
            #expect(selectWait.blockedBy == [alter.pid])
            #expect(selectWait.lock.mode == "AccessShareLock")
            // Exactly what PostgreSQL reports.
            for wait in snapshot.waits {
                #expect(try await wait.blockedBy == database.blockingPIDs(of: wait.pid, observer: observer))
            }

            let root = try #require(snapshot.blocker(readerPID))
            #expect(root.root && root.blocks == [alter.pid] && root.blockedTotal == 2)
            #expect(root.activity?.state == "idle in transaction")
            #expect(root.activity?.applicationName == "reader")
            #expect((root.activity?.xactSeconds ?? -1) >= (root.activity?.stateSeconds ?? .infinity))
            let middle = try #require(snapshot.blocker(alter.pid))
            #expect(!middle.root && middle.blocks == [select.pid] && middle.blockedTotal == 1)
            #expect(snapshot.roots.map(\.pid) == [readerPID])

            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
            try await select.task.value
            #expect(try await database.inspector().poll().isEmpty)
        }
    }

    @Test("one waiter with two blockers")
    func twoBlockers() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let first = try await database.idleInTransactionReader()
            let second = try await database.idleInTransactionReader()
            let observer = try await database.session("observer")
            let alter = try await database.startBlockedStatement("ALTER TABLE t ADD COLUMN c int")
            try await database.waitUntilWaiting(alter.pid, observer: observer)

            let snapshot = try await database.inspector().pollReadingLocks()

            let expected = [await first.backendPID, await second.backendPID].sorted()
            #expect(snapshot.wait(of: alter.pid)?.blockedBy == expected)
            #expect(snapshot.roots.map(\.pid).sorted() == expected)
            _ = try await first.query("ROLLBACK")
            _ = try await second.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test("row-lock waits: on the holder's transaction id, then on the tuple")
    func rowLocks() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let holder = try await database.session("holder")
            _ = try await holder.query("BEGIN")
            _ = try await holder.query("UPDATE t SET v = v + 1 WHERE id = 1")
            let holderPID = await holder.backendPID
            let observer = try await database.session("observer")
            let second = try await database.startBlockedStatement("UPDATE t SET v = 0 WHERE id = 1")
            try await database.waitUntilWaiting(second.pid, observer: observer)
            let third = try await database.startBlockedStatement("UPDATE t SET v = 1 WHERE id = 1")
            try await database.waitUntilWaiting(third.pid, observer: observer)

            let snapshot = try await database.inspector().pollReadingLocks()

            let secondWait = try #require(snapshot.wait(of: second.pid))
            #expect(secondWait.lock.locktype == "transactionid" && secondWait.lock.mode == "ShareLock")
            #expect(secondWait.blockedBy == [holderPID])
            let thirdWait = try #require(snapshot.wait(of: third.pid))
            #expect(thirdWait.lock.locktype == "tuple" && thirdWait.lock.relation == "public.t")
            #expect(thirdWait.blockedBy == (try await database.blockingPIDs(of: third.pid, observer: observer)))
            #expect(snapshot.blocker(holderPID)?.blockedTotal == 2)
            _ = try await holder.query("COMMIT")
            try await second.task.value
            try await third.task.value
        }
    }

    @Test("advisory-lock waits")
    func advisoryLocks() async throws {
        try await ScratchDatabase.with { database in
            let holder = try await database.session("holder")
            _ = try await holder.query("SELECT pg_advisory_lock(4242)")
            let observer = try await database.session("observer")
            let waiter = try await database.startBlockedStatement("SELECT pg_advisory_lock(4242)")
            try await database.waitUntilWaiting(waiter.pid, observer: observer)

            let snapshot = try await database.inspector().pollReadingLocks()

            let wait = try #require(snapshot.wait(of: waiter.pid))
            #expect(wait.lock.locktype == "advisory" && wait.lock.mode == "ExclusiveLock")
            #expect(wait.lock.details["objid"] == "4242")
            #expect(wait.blockedBy == [await holder.backendPID])
            let text = LockForestRenderer().render(snapshot, scope: database.name)
            #expect(text.contains("ExclusiveLock on advisory lock 4242"))
            _ = try await holder.query("SELECT pg_advisory_unlock(4242)")
            try await waiter.task.value
        }
    }

    @Test("a prepared transaction blocks as pid 0 with its gid")
    func preparedTransaction() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let gid = TestCluster.uniqueName("deploy")
            let preparer = try await database.session("preparer")
            _ = try await preparer.query("BEGIN")
            _ = try await preparer.query("LOCK TABLE t IN SHARE MODE")
            _ = try await preparer.query("PREPARE TRANSACTION '\(gid)'")
            let observer = try await database.session("observer")
            let writer = try await database.startBlockedStatement("UPDATE t SET v = 0 WHERE id = 1", "writer")
            try await database.waitUntilWaiting(writer.pid, observer: observer)

            let snapshot = try await database.inspector().pollReadingLocks()

            #expect(snapshot.wait(of: writer.pid)?.blockedBy == [0])
            let blocker = try #require(snapshot.blocker(0))
            #expect(blocker.preparedGIDs == [gid] && blocker.root && blocker.blocks == [writer.pid])
            _ = try await preparer.query("ROLLBACK PREPARED '\(gid)'")
            try await writer.task.value
        }
    }

    @Test("waits in another database are shown only with every database")
    func databaseScope() async throws {
        try await ScratchDatabase.with { database in
            let (reader, _, _, alter) = try await database.alterBehindIdleReader()
            try await ScratchDatabase.with { other in
                #expect(try await other.inspector().poll().isEmpty)
                let everything = try await other.inspector(scope: .allDatabases).pollReadingLocks()
                #expect(everything.wait(of: alter.pid)?.activity.datname == database.name)
            }
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test(
        "while nothing waits, a poll reads neither pg_locks nor pg_blocking_pids",
        .enabled("needs pg_stat_statements, which the PostgreSQL 16.2 wheel lacks") {
            try await TestCluster.hasPgStatStatements()
        }
    )
    func idlePollIsCheap() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let admin = try await TestCluster.administrator()
            let oid = try await admin.query("SELECT oid FROM pg_database WHERE datname = $1", [database.name])
                .rows[0].require(Int.self, "oid")
            let statementsRun = { (pattern: String) async throws -> Int in
                try await admin.query(
                    """
                    SELECT coalesce(sum(calls), 0)::int8 AS calls FROM pg_stat_statements
                    WHERE dbid = $1 AND regexp_replace(query, '--[^\n]*', '', 'g') ~ $2
                    """,
                    [oid, pattern]
                ).rows[0].require(Int.self, "calls")
            }
            let inspector = try await database.inspector()
            _ = try await admin.query("SELECT pg_stat_statements_reset(0, $1::oid, 0)", [oid])

            for _ in 0..<5 { #expect(try await inspector.poll().isEmpty) }

            #expect(try await statementsRun("pg_stat_get_backend_idset") == 5)
            #expect(try await statementsRun("pg_locks|pg_blocking_pids") == 0)

            // The control: once a session waits, the same measure sees the resolving query run.
            let reader = try await database.idleInTransactionReader()
            let alter = try await database.startBlockedStatement(
                "ALTER TABLE t ADD COLUMN c int",
                checkingDeadlocks: false
            )
            try await database.waitUntilWaiting(alter.pid, observer: admin)
            #expect(try await !inspector.poll().isEmpty)
            #expect(try await statementsRun("pg_blocking_pids") == 1)
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test(
        "every way of polling finds the same waits: passing over idle backends or asking each, with or without waitstart"
    )
    func pollVariantsAgree() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, observer, alter) = try await database.alterBehindIdleReader(
                checkingDeadlocks: false
            )
            let select = try await database.startBlockedStatement("SELECT count(*) FROM t", checkingDeadlocks: false)
            try await database.waitUntilWaiting(select.pid, observer: observer)
            let cheap = try await database.inspector()
            #expect(cheap.role.seesTransactionStarts)
            var everyBackend = cheap.role
            everyBackend.tracksActivities = false  // asks every backend for its wait event
            var beforeWaitStart = cheap.role
            beforeWaitStart.serverVersion = 130_000  // reads no pg_locks.waitstart

            let snapshots = [
                try await cheap.poll(),
                try await LockInspector(connection: cheap.connection, role: everyBackend).poll(),
                try await LockInspector(connection: cheap.connection, role: beforeWaitStart).poll(),
            ]

            for snapshot in snapshots {
                #expect(snapshot.waits.map(\.pid).sorted() == [alter.pid, select.pid].sorted())
                #expect(snapshot.wait(of: alter.pid)?.blockedBy == [readerPID])
                #expect(snapshot.wait(of: select.pid)?.blockedBy == [alter.pid])
            }
            #expect(snapshots[0].waits.allSatisfy { $0.exactWaitStart })
            #expect(snapshots[2].waits.allSatisfy { !$0.exactWaitStart && $0.waitingSeconds >= 0 })
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
            try await select.task.value
        }
    }

    @Test("pgwarden's own session is named and has short timeouts")
    func ownSession() async throws {
        try await ScratchDatabase.with { database in
            let inspector = try await database.inspector()
            let settings = try await inspector.connection.query(
                "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st,"
                    + " current_setting('lock_timeout') AS lt"
            ).rows[0]
            #expect(try settings.text("app") == "pgwarden")
            #expect(try settings.text("st") == "5s")
            #expect(try settings.text("lt") == "1s")
            #expect(inspector.role.monitor && inspector.role.hasWaitStart)
        }
    }
}
