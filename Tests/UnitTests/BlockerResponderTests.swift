import Foundation
import Enforcement
import Policy
import Response
import Testing
import WaitGraph

/// The responder, driven by instants of the test's own: no I/O, no clock.
@Suite("Blocker responder")
struct BlockerResponderTests {
    let start = Duration.zero

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
        xact: Double = 60,
        backendStart: String? = "2026-12-01 10:00:00.000001+00",
        xactStart: String? = "2026-12-01 10:05:00.000001+00"
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
                query: query,
                backendStart: backendStart,
                xactStart: xactStart
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
                query: "ALTER TABLE t ADD c int",
                backendStart: "2026-12-01 11:00:00.000002+00",
                xactStart: "2026-12-01 11:00:01.000002+00"
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
        var responder = BlockerResponder(policy: Policy(rules: [Self.idleRule]))
        #expect(
            responder.respond(to: Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 9.9)]), at: start).isEmpty
        )
        let decisions = responder.respond(to: Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 10)]), at: start)
        #expect(decisions.map(\.actor.ruleName) == ["idle"])
        #expect(decisions.first?.action == .terminate && decisions.first?.signal != nil)
        #expect(decisions.first?.waiters.map(\.pid) == [2])
        // Still blocking at the next poll: not signalled again.
        #expect(
            responder.respond(to: Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 10.5)]), at: start).isEmpty
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
        var responder = BlockerResponder(policy: Policy(rules: [rule]))
        let decisions = responder.respond(to: Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)]), at: start)
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
        var responder = BlockerResponder(policy: Policy(rules: [rule]))
        let web = Self.waiter(3, on: 1, seconds: 100, application: "web")
        let migration = Self.waiter(2, on: 1, seconds: 2)
        #expect(responder.respond(to: Self.snapshot([Self.blocker(1), migration, web]), at: start).isEmpty)
    }

    @Test(
        "protected whatever the policy says, and reported once",
        arguments: [
            (blocker(1, backendStart: nil), "its identity (backend_start) cannot be read: pgwarden's role needs pg_monitor (pg_read_all_stats)"),
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
        var responder = BlockerResponder(policy: policy)
        let snapshot = Self.snapshot([blocker, Self.waiter(2, on: 1, seconds: 1)])
        let decisions = responder.respond(to: snapshot, at: start)
        #expect(decisions.map(\.kind) == ["protected: " + reason])
        #expect(responder.respond(to: snapshot, at: (start + .seconds(1))).isEmpty)
    }

    @Test("a name is no protection: sessions calling themselves pgwarden or pgwarden-migration-<old run> are judged")
    func noSelfDeclaredImmunity() {
        for name in ["pgwarden", "pgwarden-migration-20261101T000000Z-dead", "pgwarden-guard"] {
            var responder = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
            let snapshot = Self.snapshot([Self.blocker(1, application: name), Self.waiter(2, on: 1, seconds: 1)])
            #expect(responder.respond(to: snapshot, at: start, context: Self.upgradeContext()).map(\.kind) == ["signal"])
        }
    }

    /// An upgrade's context in which the blockers existed before the migration started.
    static func upgradeContext(identified: Set<SessionKey> = [SessionKey(pid: 99, backendStart: "m")]) -> ResponderContext {
        let before = (1...9).map { SessionKey(pid: Int32($0), backendStart: "2026-12-01 10:00:00.000001+00") }
        return ResponderContext(migration: MigrationSessions(identified: identified, before: Set(before)))
    }

    @Test("pgwarden's own pids and the migration's identified sessions are protected by the caller's context")
    func contextProtection() {
        var responder = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        let decisions = responder.respond(to: 
            Self.snapshot([
                Self.blocker(1), Self.waiter(2, on: 1, seconds: 1), Self.blocker(3), Self.waiter(4, on: 3, seconds: 1),
            ]),
            at: start,
            context: ResponderContext(
                ownPIDs: [1],
                migration: MigrationSessions(identified: [SessionKey(pid: 3, backendStart: "2026-12-01 10:00:00.000001+00")])
            )
        )
        #expect(
            decisions.map(\.kind) == [
                "protected: pgwarden's own session", "protected: the supervised migration's session",
            ]
        )
    }

    @Test("escalate_after turns a cancel that did not free the waiter into a terminate, once")
    func escalation() {
        let rule = Rule(name: "c", action: .cancel, escalateAfter: .seconds(15))
        var responder = BlockerResponder(policy: Policy(rules: [rule]))
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(responder.respond(to: blocked, at: start).map(\.action) == [.cancel])
        #expect(responder.respond(to: blocked, at: (start + .seconds(14))).isEmpty)
        let escalated = responder.respond(to: blocked, at: (start + .seconds(15)))
        #expect(escalated.map(\.action) == [.terminate] && escalated.first?.actor == .escalation("c"))
        #expect(responder.respond(to: blocked, at: (start + .seconds(30))).isEmpty)
    }

    @Test("a blocker that stopped blocking is forgotten; blocking again, it is acted on again")
    func memory() {
        var responder = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .cancel)]))
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(responder.respond(to: blocked, at: start).count == 1)
        #expect(responder.respond(to: Self.snapshot([]), at: start).isEmpty)
        #expect(responder.respond(to: blocked, at: start).count == 1)
    }

    @Test("max_actions_per_minute: the rest are rate-limited (reported once) until the minute has passed")
    func rateLimit() {
        var responder = BlockerResponder(
            policy: Policy(maxActionsPerMinute: 2, rules: [Rule(name: "all", action: .terminate)])
        )
        let sessions = (1...3).flatMap { n in
            [Self.blocker(Int32(n)), Self.waiter(Int32(10 + n), on: Int32(n), seconds: 1)]
        }
        let first = responder.respond(to: Self.snapshot(sessions), at: start)
        #expect(first.map(\.kind) == ["signal", "signal", "rate-limited"])
        #expect(responder.respond(to: Self.snapshot(sessions), at: (start + .seconds(30))).isEmpty)
        let later = responder.respond(to: Self.snapshot(sessions), at: (start + .seconds(60)))
        #expect(later.map(\.kind) == ["signal"])
        #expect(later.first?.session.pid == 3)
    }

    @Test("dry run: decided and remembered, never executed; log: audited once, not rate-limited")
    func dryRunAndLog() {
        var dry = BlockerResponder(policy: Policy(dryRun: true, rules: [Rule(name: "all", action: .terminate)]))
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(dry.respond(to: blocked, at: start).map(\.kind) == ["dry-run"])
        #expect(dry.respond(to: blocked, at: start).isEmpty)
        var forced = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        #expect(forced.respond(to: blocked, at: start, context: .init(forceDryRun: true)).map(\.kind) == ["dry-run"])
        var log = BlockerResponder(policy: Policy(maxActionsPerMinute: 1, rules: [Rule(name: "l", action: .log)]))
        let two = Self.snapshot([
            Self.blocker(1), Self.waiter(2, on: 1, seconds: 1), Self.blocker(3), Self.waiter(4, on: 3, seconds: 1),
        ])
        #expect(log.respond(to: two, at: start).map(\.kind) == ["logged", "logged"])
        #expect(log.respond(to: two, at: start).isEmpty)
    }

    @Test("the first matching rule decides; a new policy judges logged blockers afresh, never re-signals")
    func ruleOrderAndReplace() {
        var responder = BlockerResponder(
            policy: Policy(rules: [
                Rule(name: "first", states: ["idle in transaction"], action: .log),
                Rule(name: "second", action: .terminate),
            ])
        )
        let blocked = Self.snapshot([Self.blocker(1), Self.waiter(2, on: 1, seconds: 1)])
        #expect(responder.respond(to: blocked, at: start).map(\.actor.ruleName) == ["first"])
        responder.replace(Policy(rules: [Rule(name: "second", action: .terminate)]))
        #expect(responder.respond(to: blocked, at: start).map(\.actor.ruleName) == ["second"])
        responder.replace(Policy(rules: [Rule(name: "third", action: .terminate)]))
        #expect(responder.respond(to: blocked, at: start).isEmpty)  // already terminated under the old policy
    }
}

extension Response {
    /// The disposition in one word (and a protection's reason), for comparisons.
    var kind: String {
        switch disposition {
        case .signal: "signal"
        case .dryRun: "dry-run"
        case .protected(let reason): "protected: " + reason
        case .rateLimited: "rate-limited"
        case .logged: "logged"
        }
    }
}
