import Enforcement
import Foundation
import LockInspection
import Postgres
import Response
import Synchronization
import TestSupport
import Testing
import WaitGraph

/// The response loop (guard's, upgrade's) reads its role again while it runs: a privilege revoked
/// under it changes what its poll can see, and the poll must follow.
@Suite("The response loop's role, read again", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct RoleRecheckTests {
    /// Records what the loop saw, for the test to wait on.
    final class Recorder: ResponseLoopDelegate {
        let waiters = Mutex<Set<Int32>>([])
        let roles = Mutex<[SessionRole]>([])
        let limitationsAdded = Mutex<[String]>([])

        func prepare(_ responder: inout BlockerResponder) -> Duration { .milliseconds(100) }

        func observe(
            _ snapshot: LockSnapshot,
            pollSeconds: Double,
            responder: BlockerResponder,
            context: ResponderContext
        )
            async -> [Response]
        {
            waiters.withLock { $0.formUnion(snapshot.waits.map(\.pid)) }
            return []
        }

        func connected(reconnect: Bool, role: SessionRole) { roles.withLock { $0.append(role) } }
        func roleChanged(from old: SessionRole, to new: SessionRole) {
            roles.withLock { $0.append(new) }
            limitationsAdded.withLock { $0 += new.limitationsAdded(since: old) }
        }
    }

    @Test("pg_monitor revoked while the loop runs: its role is read again, and a wait made afterwards is still seen")
    func monitorRevoked() async throws {
        try await ScratchDatabase.with { database in
            let admin = try await TestCluster.administrator()
            let watcher = TestCluster.uniqueName("watcher")
            let app = TestCluster.uniqueName("app")
            _ = try await admin.query("CREATE ROLE \"\(watcher)\" LOGIN IN ROLE pg_monitor")
            _ = try await admin.query("CREATE ROLE \"\(app)\" LOGIN")
            var loop = ResponseLoop(
                connectionString: "\(database.connectionString) user=\(watcher)",
                audit: [],
                logger: TestCluster.logger
            )
            loop.roleCheckInterval = .milliseconds(200)
            let recorder = Recorder()
            let running = Task { [loop] in
                try await loop.run(
                    responder: BlockerResponder(policy: nil),
                    delegate: recorder,
                    clock: ContinuousClock()
                )
            }
            try await eventually("the loop connects with pg_monitor") {
                recorder.roles.withLock { $0.last?.monitor == true }
            }
            _ = try await admin.query("REVOKE pg_monitor FROM \"\(watcher)\"")
            let holder = try await database.session("holder", user: app)
            _ = try await holder.query("SELECT pg_advisory_lock(4244)")
            let waiting = try await database.session("waiter", user: app)
            let waiterPID = await waiting.backendPID
            let waiter = Task { _ = try await waiting.query("SELECT pg_advisory_lock(4244)") }
            let observer = try await database.session("observer")
            try await database.waitUntilWaiting(waiterPID, observer: observer)
            try await eventually("the loop sees the wait of another role's session") {
                recorder.waiters.withLock { $0.contains(waiterPID) }
            }
            #expect(recorder.roles.withLock { $0.last?.monitor } == false, "the loop read its role again")
            // What guard and upgrade warn of: the one limitation the revoke added.
            let added = recorder.limitationsAdded.withLock { $0 }
            #expect(added.count == 1 && added.first?.contains("is not a member of pg_monitor") == true, "\(added)")
            running.cancel()
            _ = try? await running.value
            _ = try await holder.query("SELECT pg_advisory_unlock(4244)")
            try await waiter.value
            await holder.close()
            await waiting.close()
            _ = try await admin.query("DROP ROLE \"\(watcher)\"")
            _ = try await admin.query("DROP ROLE \"\(app)\"")
            await admin.close()
        }
    }
}
