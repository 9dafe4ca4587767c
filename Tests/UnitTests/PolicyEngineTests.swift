import Foundation
import Policy
import Testing
import WaitGraph

/// The decision engine, driven by a clock of the test's own.
@Suite("Policy engine")
struct PolicyEngineTests {
    let start = ContinuousClock.now

    static func snapshot(_ sessions: [ObservedSession]) -> LockSnapshot {
        LockSnapshot(observing: sessions, takenAt: Date(timeIntervalSince1970: 0), databaseOID: nil)
    }

    static func blocker(
        _ pid: Int32,
        state: String = "idle in transaction",
        application: String = "report",
        user: String = "app",
        backendType: String = "client backend",
        query: String = "SELECT * FROM t",
        xact: Double = 60
    ) -> ObservedSession {
        ObservedSession(
            pid: pid,
            activity: SessionActivity(
                state: state,
                xactSeconds: xact,
                usename: user,
                datname: "appdb",
                applicationName: application,
                backendType: backendType,
                query: query
            )
        )
    }

    static func waiter(_ pid: Int32, on blocker: Int32, seconds: Double, application: String = "pgwarden-migration-1")
        -> ObservedSession
    {
        ObservedSession(
            pid: pid,
            request: LockRequest(
                blockedBy: [blocker],
                waitingSeconds: seconds,
                lock: LockTarget(locktype: "relation", mode: "AccessExclusiveLock", relation: "public.t")
            ),
            activity: SessionActivity(
                state: "active",
                usename: "deploy",
                datname: "appdb",
                applicationName: application,
                backendType: "client backend",
                query: "ALTER TABLE t ADD c int"
            )
        )
    }

    static let idleRule = Rule(
        name: "idle",
        blockingFor: .seconds(10),
        states: ["idle in transaction"],
        action: .terminate
    )

    @Test("blocking_for counts from the waiter's wait start: not before, then once")
    func blockingFor() {
        var engine = PolicyEngine(policy: Policy(rules: [Self.idleRule]))
        #expect(
            engine.decide(Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 9.9)]), at: start).isEmpty
        )
        let decisions = engine.decide(Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 10)]), at: start)
        #expect(decisions.map(\.rule) == ["idle"])
        #expect(decisions.first?.action == .terminate && decisions.first?.disposition == .execute)
        #expect(decisions.first?.waiters.map(\.pid) == [2])
        // Still blocking at the next poll: not signalled again.
        #expect(
            engine.decide(Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 10.5)]), at: start).isEmpty
        )
    }

    @Test(
        "each condition can stop a rule from firing",
        arguments: [
            (Rule(name: "r", states: ["active"], action: .cancel), false),
            (Rule(name: "r", users: ["other"], action: .cancel), false),
            (Rule(name: "r", users: ["app"], action: .cancel), true),
            (Rule(name: "r", applicationName: Glob("rep*"), action: .cancel), true),
            (Rule(name: "r", applicationName: Glob("web*"), action: .cancel), false),
            (Rule(name: "r", databases: ["otherdb"], action: .cancel), false),
            (Rule(name: "r", query: QueryPattern("(?i)^select"), action: .cancel), true),
            (Rule(name: "r", query: QueryPattern("(?i)^\\s*delete"), action: .cancel), false),
            (Rule(name: "r", minTransactionAge: .seconds(61), action: .cancel), false),
            (Rule(name: "r", minTransactionAge: .seconds(60), action: .cancel), true),
            (Rule(name: "r", waiterApplicationName: Glob("pgwarden-migration*"), action: .cancel), true),
            (Rule(name: "r", waiterApplicationName: Glob("web"), action: .cancel), false),
        ]
    )
    func conditions(rule: Rule, fires: Bool) {
        var engine = PolicyEngine(policy: Policy(rules: [rule]))
        let decisions = engine.decide(Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)]), at: start)
        #expect(decisions.isEmpty == !fires)
    }

    @Test("the waiter filter counts only matching waiters toward blocking_for")
    func waiterFilter() {
        let rule = Rule(
            name: "m",
            blockingFor: .seconds(5),
            waiterApplicationName: Glob("pgwarden-migration*"),
            action: .cancel
        )
        var engine = PolicyEngine(policy: Policy(rules: [rule]))
        let web = Self.waiter(3, on: 1, seconds: 100, application: "web")
        let migration = Self.waiter(2, on: 1, seconds: 2)
        #expect(engine.decide(Self.snapshot([Self.blocker(1), migration, web]), at: start).isEmpty)
    }

    @Test(
        "protected whatever the policy says, and reported once",
        arguments: [
            (blocker(1, application: "pgwarden"), "a pgwarden session"),
            (blocker(1, application: "pgwarden-migration-7"), "the supervised migration's session"),
            (blocker(1, backendType: "autovacuum worker"), "a autovacuum worker, not a client backend"),
            (blocker(1, application: "pg_dump"), "[protect] application_names: pg_dump*"),
            (blocker(1, user: "replicator"), "[protect] users: replicator"),
        ]
    )
    func protection(blocker: ObservedSession, reason: String) {
        let policy = Policy(
            protection: Protection(applicationNames: [Glob("pg_dump*")], users: ["replicator"]),
            rules: [Rule(name: "all", action: .terminate)]
        )
        var engine = PolicyEngine(policy: policy)
        let snapshot = Self.snapshot([blocker, Self.waiter(2, on: 1, seconds: 1)])
        let decisions = engine.decide(snapshot, at: start)
        #expect(decisions.map(\.disposition) == [.protected(reason: reason)])
        #expect(engine.decide(snapshot, at: start.advanced(by: .seconds(1))).isEmpty)
    }

    @Test("pgwarden's own pids and the migration's pids are protected by the caller's context")
    func contextProtection() {
        var engine = PolicyEngine(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        let decisions = engine.decide(
            Self.snapshot([
                Self.blocker(1), Self.waiter(2, on: 1, seconds: 1), Self.blocker(3), Self.waiter(4, on: 3, seconds: 1),
            ]),
            at: start,
            context: PolicyEngine.Context(ownPIDs: [1], protectedPIDs: [3])
        )
        #expect(
            decisions.map(\.disposition) == [
                .protected(reason: "pgwarden's own session"), .protected(reason: "the supervised migration's session"),
            ]
        )
    }

    @Test("escalate_after turns a cancel that did not free the waiter into a terminate, once")
    func escalation() {
        let rule = Rule(name: "c", action: .cancel, escalateAfter: .seconds(15))
        var engine = PolicyEngine(policy: Policy(rules: [rule]))
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(engine.decide(blocked, at: start).map(\.action) == [.cancel])
        #expect(engine.decide(blocked, at: start.advanced(by: .seconds(14))).isEmpty)
        let escalated = engine.decide(blocked, at: start.advanced(by: .seconds(15)))
        #expect(escalated.map(\.action) == [.terminate] && escalated.first?.isEscalation == true)
        #expect(engine.decide(blocked, at: start.advanced(by: .seconds(30))).isEmpty)
    }

    @Test("a blocker that stopped blocking is forgotten; blocking again, it is acted on again")
    func memory() {
        var engine = PolicyEngine(policy: Policy(rules: [Rule(name: "all", action: .cancel)]))
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(engine.decide(blocked, at: start).count == 1)
        #expect(engine.decide(Self.snapshot([]), at: start).isEmpty)
        #expect(engine.decide(blocked, at: start).count == 1)
    }

    @Test("max_actions_per_minute: the rest are rate-limited (reported once) until the minute has passed")
    func rateLimit() {
        var engine = PolicyEngine(
            policy: Policy(maxActionsPerMinute: 2, rules: [Rule(name: "all", action: .terminate)])
        )
        let sessions = (1...3).flatMap { n in
            [Self.blocker(Int32(n)), Self.waiter(Int32(10 + n), on: Int32(n), seconds: 1)]
        }
        let first = engine.decide(Self.snapshot(sessions), at: start)
        #expect(first.map(\.disposition) == [.execute, .execute, .rateLimited])
        #expect(engine.decide(Self.snapshot(sessions), at: start.advanced(by: .seconds(30))).isEmpty)
        let later = engine.decide(Self.snapshot(sessions), at: start.advanced(by: .seconds(60)))
        #expect(later.map(\.disposition) == [.execute])
        #expect(later.first?.blocker.pid == 3)
    }

    @Test("dry run: decided and remembered, never executed; log: audited once, not rate-limited")
    func dryRunAndLog() {
        var dry = PolicyEngine(policy: Policy(dryRun: true, rules: [Rule(name: "all", action: .terminate)]))
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(dry.decide(blocked, at: start).map(\.disposition) == [.dryRun])
        #expect(dry.decide(blocked, at: start).isEmpty)
        var forced = PolicyEngine(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        #expect(forced.decide(blocked, at: start, context: .init(forceDryRun: true)).map(\.disposition) == [.dryRun])
        var log = PolicyEngine(policy: Policy(maxActionsPerMinute: 1, rules: [Rule(name: "l", action: .log)]))
        let two = Self.snapshot([
            Self.blocker(1), Self.waiter(2, on: 1, seconds: 1), Self.blocker(3), Self.waiter(4, on: 3, seconds: 1),
        ])
        #expect(log.decide(two, at: start).map(\.disposition) == [.execute, .execute])
        #expect(log.decide(two, at: start).isEmpty)
    }

    @Test("the first matching rule decides; a new policy judges logged blockers afresh, never re-signals")
    func ruleOrderAndReplace() {
        var engine = PolicyEngine(
            policy: Policy(rules: [
                Rule(name: "first", states: ["idle in transaction"], action: .log),
                Rule(name: "second", action: .terminate),
            ])
        )
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(engine.decide(blocked, at: start).map(\.rule) == ["first"])
        engine.replace(Policy(rules: [Rule(name: "second", action: .terminate)]))
        #expect(engine.decide(blocked, at: start).map(\.rule) == ["second"])
        engine.replace(Policy(rules: [Rule(name: "third", action: .terminate)]))
        #expect(engine.decide(blocked, at: start).isEmpty)  // already terminated under the old policy
    }
}
