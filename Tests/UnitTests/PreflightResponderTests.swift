import Forecast
import Foundation
import Policy
import Preflight
import Response
import SQLParser
import Testing

/// `[preflight]` judged without a server: the forecast's live locks in, terminations and refusals out.
@Suite("[preflight]: what the policy does with the forecast")
struct PreflightResponderTests {
    static func holder(
        pid: Int32,
        state: String? = "idle in transaction",
        seconds: Double = 600,
        application: String = "monthly-report",
        user: String = "app",
        mode: LockMode = .accessShare,
        granted: Bool = true
    ) -> LiveLock {
        LiveLock(
            relation: "public.orders",
            pid: pid,
            mode: mode,
            granted: granted,
            state: state,
            transactionSeconds: seconds,
            applicationName: application,
            query: "SELECT count(*) FROM orders",
            identity: LiveSessionIdentity(
                backendStart: "2026-12-01 08:00:00.000001+00",
                xactStart: "2026-12-01 09:00:00.000002+00",
                usename: user,
                backendType: "client backend"
            )
        )
    }

    /// The forecast of `sql` with `locks` held by others; `rehearsed`: as if a rehearsal had shown the static
    /// analysis's locks (those of rows excepted), which makes them certain.
    static func forecast(_ sql: String, _ locks: [LiveLock], rehearsed: Bool = true) -> MigrationForecast {
        let statements = SQLParser.parse(sql)
        let facts = ForecastPlannerTests.facts
        var rehearsal: Rehearsal?
        if rehearsed {
            let draft = ForecastPlanner.plan(statements, source: "test", facts: facts, takenAt: Date())
            var shown: [Int: RehearsedStatement] = [:]
            for statement in draft.statements {
                let locks = (statement.analysis?.locks ?? []).filter { !$0.dependsOnRows }.map { lock in
                    let parts = lock.relation.split(separator: ".").map(String.init)
                    return RehearsedLock(schema: parts.first ?? "public", name: parts.last ?? "", mode: lock.mode)
                }
                shown[statement.number] =
                    statement.analysis?.refusesTransactionBlock == true
                    ? .notRun(reason: "it cannot run inside a transaction block") : .ran(locks: locks, temporary: [])
            }
            rehearsal = Rehearsal(status: .ran(copy: "pgwarden_rehearsal_test", pgDump: "pg_dump"), statements: shown)
        }
        return ForecastPlanner.plan(
            statements,
            source: "test",
            facts: facts,
            live: LiveFacts(locks: locks),
            requestTimeoutSeconds: nil,
            rehearsal: rehearsal,
            takenAt: Date()
        )
    }

    static func policy(_ preflight: String, protect: String = "") throws -> Policy {
        try Policy(parsing: "[preflight]\n\(preflight)\n\(protect)", file: "p.toml")
    }

    static let alter = "ALTER TABLE orders ADD COLUMN x int; ALTER TABLE orders ADD COLUMN y int;"

    @Test("an idle transaction old enough that holds a conflicting lock: terminated, identity-checked, once")
    func terminatesOldIdleHolder() throws {
        let forecast = Self.forecast(Self.alter, [Self.holder(pid: 4121), Self.holder(pid: 4122, seconds: 30)])
        let decision = PreflightResponder.decide(
            forecast,
            policy: try Self.policy("terminate_idle_in_transaction = \"5min\""),
            context: ResponderContext()
        )
        #expect(decision.refusals.isEmpty)
        #expect(decision.actions.map(\.statement) == [1], "pid 4122's transaction is 30 s old; each pid once")
        let request = try #require(decision.actions.first?.response.signal)
        #expect(request.action == .terminate && request.waiter == nil)
        #expect(request.target.pid == 4121 && request.target.checksTransaction)
        #expect(request.target.key.backendStart == "2026-12-01 08:00:00.000001+00")
        #expect(request.target.xactStart == "2026-12-01 09:00:00.000002+00")
        #expect(request.target.state == "idle in transaction")
        #expect(decision.actions.first?.response.actor.description == "preflight:terminate_idle_in_transaction")
    }

    @Test("a conflict with a lock that is not certain (static analysis, no rehearsal) is reported, never acted on")
    func staticLockIsNotActedOn() throws {
        let forecast = Self.forecast(Self.alter, [Self.holder(pid: 4121)], rehearsed: false)
        #expect(forecast.statements.first?.analysis?.locks.first?.isCertain == false)
        let decision = PreflightResponder.decide(
            forecast,
            policy: try Self.policy("terminate_idle_in_transaction = \"5min\""),
            context: ResponderContext()
        )
        #expect(decision.actions.isEmpty && decision.refusals.isEmpty)
        #expect(
            decision.leftAlone == [
                "statement 1 may wait on pid 4121 (idle in transaction, application 'monthly-report', role app), which"
                    + " holds AccessShareLock on public.orders: left alone, the statement's lock on it is not certain"
                    + " (static analysis, not seen in a rehearsal)"
            ],
            "\(decision.leftAlone)"
        )
    }

    @Test("an Alembic revision the forecast does not cover refuses a run under a refusal key, naming it")
    func uncoveredRevisionRefuses() throws {
        var forecast = Self.forecast(Self.alter, [])
        forecast.uncovered = ["revision a3 and any after it (alembic upgrade a2:head --sql failed there)"]
        let decision = PreflightResponder.decide(
            forecast,
            policy: try Self.policy("refuse_if_waits_on_protected = true"),
            context: ResponderContext()
        )
        #expect(
            decision.refusals == [
                "revision a3 and any after it (alembic upgrade a2:head --sql failed there) is not forecast, so"
                    + " refuse_if_waits_on_protected cannot be checked on it"
            ]
        )
        let terminateOnly = PreflightResponder.decide(
            forecast,
            policy: try Self.policy("terminate_idle_in_transaction = \"1min\""),
            context: ResponderContext()
        )
        #expect(terminateOnly.refusals.isEmpty, "a terminate key is no limit: it acts on what was forecast")
    }

    @Test(
        "a lock the rehearsal did not show is dropped: a temporary table shadowing orders takes none of public.orders"
    )
    func rehearsalReplacesStaticLocks() throws {
        let statements = SQLParser.parse("CREATE TEMP TABLE orders (id int); ALTER TABLE orders ADD COLUMN x int;")
        let rehearsal = Rehearsal(
            status: .ran(copy: "pgwarden_rehearsal_test", pgDump: "pg_dump"),
            statements: [1: .ran(locks: [], temporary: ["orders"]), 2: .ran(locks: [], temporary: ["orders"])]
        )
        let forecast = ForecastPlanner.plan(
            statements,
            source: "test",
            facts: ForecastPlannerTests.facts,
            live: LiveFacts(locks: [Self.holder(pid: 4121)]),
            rehearsal: rehearsal,
            takenAt: Date()
        )
        #expect(forecast.statements[1].analysis?.locks.isEmpty == true)
        #expect(forecast.statements[1].conflicts.isEmpty)
        #expect(forecast.statements[1].analysis?.notes.contains { $0.contains("temporary table orders") } == true)
    }

    @Test("nothing acts without [preflight], on a lock that does not conflict, or on a session that is active")
    func leavesOthersAlone() throws {
        let holders = [Self.holder(pid: 1, state: "active"), Self.holder(pid: 2, state: "idle")]
        let terminate = try Self.policy("terminate_idle_in_transaction = \"0s\"")
        #expect(
            PreflightResponder.decide(Self.forecast(Self.alter, holders), policy: terminate, context: .init())
                .actions.isEmpty
        )
        let noPreflight = try Policy(parsing: "[[rule]]\nname = \"r\"\naction = \"terminate\"", file: "p.toml")
        #expect(
            PreflightResponder.decide(
                Self.forecast(Self.alter, [Self.holder(pid: 3)]),
                policy: noPreflight,
                context: .init()
            )
            .actions.isEmpty
        )
        // CREATE INDEX CONCURRENTLY's ShareUpdateExclusiveLock does not conflict with a reader's AccessShareLock.
        let concurrently = Self.forecast("CREATE INDEX CONCURRENTLY ON orders (amount)", [Self.holder(pid: 4)])
        #expect(PreflightResponder.decide(concurrently, policy: terminate, context: .init()).actions.isEmpty)
    }

    @Test("a protected holder: spared and said so; with refuse_if_waits_on_protected, the run is refused")
    func protectedHolder() throws {
        let forecast = Self.forecast(Self.alter, [Self.holder(pid: 4121, application: "pg_dump")])
        let protect = "[protect]\napplication_names = [\"pg_dump*\"]"
        let spared = PreflightResponder.decide(
            forecast,
            policy: try Self.policy("terminate_idle_in_transaction = \"1min\"", protect: protect),
            context: .init()
        )
        #expect(spared.refusals.isEmpty)
        #expect(
            spared.actions.first?.response.disposition == .protected(reason: "[protect] application_names: pg_dump*")
        )
        let refused = PreflightResponder.decide(
            forecast,
            policy: try Self.policy(
                "terminate_idle_in_transaction = \"1min\"\nrefuse_if_waits_on_protected = true",
                protect: protect
            ),
            context: .init()
        )
        #expect(refused.actions.isEmpty)
        #expect(
            refused.refusals == [
                "statement 1 would wait on pid 4121 (idle in transaction, application 'pg_dump', role app), which pgwarden may not end: [protect] application_names: pg_dump*"
            ]
        )
    }

    @Test("a prepared transaction, or a session whose identity cannot be read, is never terminated")
    func unsignallable() throws {
        var anonymous = Self.holder(pid: 4121)
        anonymous.identity.backendStart = nil
        let forecast = Self.forecast(Self.alter, [Self.holder(pid: 0, state: nil), anonymous])
        let decision = PreflightResponder.decide(
            forecast,
            policy: try Self.policy("terminate_idle_in_transaction = \"0s\""),
            context: .init()
        )
        #expect(decision.actions.allSatisfy { $0.response.signal == nil })
        #expect(decision.actions.count == 2, "both said, as left alone")
        #expect(
            decision.actions.first?.response.disposition
                == .protected(reason: "a prepared transaction: only COMMIT PREPARED or ROLLBACK PREPARED ends it")
        )
        let refusing = PreflightResponder.decide(
            forecast,
            policy: try Self.policy("refuse_if_waits_on_protected = true"),
            context: .init()
        )
        #expect(
            refusing.refusals == [
                "statement 1 would wait on a prepared transaction (pid 0), which pgwarden may not end: only COMMIT PREPARED or ROLLBACK PREPARED ends it"
            ]
        )
    }

    @Test("--dry-run and dry_run: the terminate is planned, not sent")
    func dryRun() throws {
        let forecast = Self.forecast(Self.alter, [Self.holder(pid: 4121)])
        let policy = try Self.policy("terminate_idle_in_transaction = \"1min\"")
        let decision = PreflightResponder.decide(forecast, policy: policy, context: ResponderContext(forceDryRun: true))
        guard case .dryRun(let request) = decision.actions.first?.response.disposition else {
            Issue.record("expected a dry run, got \(String(describing: decision.actions.first?.response.disposition))")
            return
        }
        #expect(request.target.pid == 4121)
    }

    @Test("max_rewrite_mb: a rewrite larger than the limit refuses the run; a smaller one does not")
    func rewriteLimit() throws {
        let rewrite = Self.forecast("ALTER TABLE orders ADD COLUMN r float DEFAULT random()", [])
        #expect(
            PreflightResponder.decide(rewrite, policy: try Self.policy("max_rewrite_mb = 8"), context: .init())
                .refusals.isEmpty,
            "8.0 MB is not more than 8 MiB"
        )
        #expect(
            PreflightResponder.decide(rewrite, policy: try Self.policy("max_rewrite_mb = 7"), context: .init())
                .refusals == [
                    "statement 1 rewrites 8.0 MB of public.orders under AccessExclusiveLock: more than max_rewrite_mb = 7"
                ]
        )
    }
}
