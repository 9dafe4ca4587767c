import Enforcement
import Foundation
import Policy
import Response
import Testing
import WaitGraph
import WardenSupport

/// The responder's identities, escalations after a reload, outcomes fed back, orders and
/// `--max-lock-wait`: all with instants the test chooses.
@Suite("Blocker responder: identity and escalation")
struct BlockerResponderIdentityTests {
    typealias T = BlockerResponderTests
    let start = Duration.zero

    @Test("a state rule's signal carries pid, backend_start, xact_start and state, and the waiter it blocks")
    func identityOfAStateRule() throws {
        var responder = BlockerResponder(policy: Policy(rules: [T.idleRule]))
        let snapshot = T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 10)])
        let request = try #require(responder.respond(to: snapshot, at: start).first?.signal)
        #expect(request.target.key == SessionKey(pid: 1, backendStart: "2026-12-01 10:00:00.000001+00"))
        #expect(request.target.checksTransaction && request.target.state == "idle in transaction")
        #expect(request.target.xactStart == "2026-12-01 10:05:00.000001+00" && request.waiter == 2)
        var catchAll = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        let plain = try #require(catchAll.respond(to: snapshot, at: start).first?.signal)
        #expect(!plain.target.checksTransaction && plain.target.key.backendStart != nil)
    }

    @Test("a session that changed or went is judged afresh at the next snapshot; one signalled is not")
    func outcomesFedBack() throws {
        var responder = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        let blocked = T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 1)])
        let first = try #require(responder.respond(to: blocked, at: start).first)
        responder.record(.changed(now: "its transaction ended"), of: first)
        let again = try #require(responder.respond(to: blocked, at: start + .seconds(1)).first)
        responder.record(.signalled, of: again)
        #expect(responder.respond(to: blocked, at: start + .seconds(2)).isEmpty)
    }

    @Test("a pid reused by a new session is a new session: judged, never confused with the old")
    func pidReuse() {
        var responder = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .cancel)]))
        #expect(
            responder.respond(to: T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 1)]), at: start).count == 1
        )
        let reused = T.snapshot([T.blocker(1, backendStart: "2026-12-01 12:00:00+00"), T.waiter(2, on: 1, seconds: 1)])
        #expect(responder.respond(to: reused, at: start + .seconds(1)).map(\.kind) == ["signal"])
    }

    @Test("escalation follows the policy in force: a reload that drops escalate_after stops it")
    func escalationAfterReload() {
        let escalating = Rule(name: "c", action: .cancel, escalateAfter: .seconds(15))
        var responder = BlockerResponder(policy: Policy(rules: [escalating]))
        let blocked = T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 1)])
        #expect(responder.respond(to: blocked, at: start).map(\.action) == [.cancel])
        responder.replace(Policy(rules: [Rule(name: "c", action: .cancel)]))
        #expect(responder.respond(to: blocked, at: start + .seconds(20)).isEmpty)
        responder.replace(Policy(rules: [escalating]))
        #expect(responder.respond(to: blocked, at: start + .seconds(21)).map(\.actor) == [.escalation("c")])
    }

    @Test("escalation re-checks protection, and a new transaction since the cancel is judged afresh")
    func escalationRechecks() {
        let rule = Rule(name: "c", action: .cancel, escalateAfter: .seconds(15))
        var responder = BlockerResponder(policy: Policy(rules: [rule]))
        let blocked = T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 1)])
        #expect(responder.respond(to: blocked, at: start).count == 1)
        let now = responder.respond(to: blocked, at: start + .seconds(15), context: ResponderContext(ownPIDs: [1]))
        #expect(now.map(\.kind) == ["protected: pgwarden's own session"])
        var other = BlockerResponder(policy: Policy(rules: [rule]))
        #expect(other.respond(to: blocked, at: start).count == 1)
        let newTransaction = T.snapshot([
            T.blocker(1, xactStart: "2026-12-01 10:06:00+00"), T.waiter(2, on: 1, seconds: 1),
        ])
        #expect(other.respond(to: newTransaction, at: start + .seconds(15)).isEmpty)
        #expect(other.respond(to: newTransaction, at: start + .seconds(16)).map(\.action) == [.cancel])
    }

    @Test("until the migration's sessions are identified, a session that connected after it started is not signalled")
    func unidentifiedMigration() {
        var responder = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        let late = T.blocker(1, backendStart: "2026-12-01 11:30:00+00")
        let snapshot = T.snapshot([late, T.waiter(2, on: 1, seconds: 1)])
        let context = ResponderContext(migration: MigrationSessions(before: []))
        #expect(
            responder.respond(to: snapshot, at: start, context: context).map(\.kind) == [
                "protected: connected after the migration started, whose sessions are not identified yet"
            ]
        )
        var identified = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .terminate)]))
        #expect(identified.respond(to: snapshot, at: start, context: T.upgradeContext()).map(\.kind) == ["signal"])
    }

    @Test("the operator's order is identity-checked, never on a protected session, and not rate-limited")
    func operatorOrders() throws {
        let responder = BlockerResponder(policy: Policy(maxActionsPerMinute: 1, rules: []))
        let snapshot = T.snapshot([
            T.blocker(1), T.waiter(2, on: 1, seconds: 1), T.blocker(3), T.waiter(4, on: 3, seconds: 1),
        ])
        let order = try #require(responder.order(.terminate, on: 1, in: snapshot, context: ResponderContext()))
        #expect(order.actor == .operator && order.signal?.target.checksTransaction == true && order.signal?.waiter == 2)
        let protected = responder.order(.terminate, on: 3, in: snapshot, context: ResponderContext(ownPIDs: [3]))
        #expect(protected?.kind == "protected: pgwarden's own session")
        #expect(responder.order(.cancel, on: 42, in: snapshot, context: ResponderContext()) == nil)
    }

    @Test("--max-lock-wait cancels the migration's own waiting statement once, only an identified session")
    func maxLockWait() {
        var responder = BlockerResponder(policy: nil, maxLockWait: .seconds(5))
        let migrationKey = SessionKey(pid: 2, backendStart: "2026-12-01 11:00:00.000002+00")
        let context = T.upgradeContext(identified: [migrationKey])
        let early = T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 4.9)])
        #expect(responder.respond(to: early, at: start, context: context).isEmpty)
        let late = T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 5)])
        let responses = responder.respond(to: late, at: start + .seconds(1), context: context)
        #expect(responses.map(\.actor) == [.maxLockWait] && responses.first?.signal?.target.key == migrationKey)
        #expect(responder.respond(to: late, at: start + .seconds(2), context: context).isEmpty)
        var unidentified = BlockerResponder(policy: nil, maxLockWait: .seconds(5))
        #expect(unidentified.respond(to: late, at: start, context: T.upgradeContext()).isEmpty)
    }

    @Test("fixed-rate polling: one interval after the last deadline, never in the past, no catching up")
    func fixedRate() {
        var schedule = FixedRateSchedule(start: ContinuousClock.Instant.now)
        let origin = schedule.deadline
        schedule.advance(by: .milliseconds(250), now: origin + .milliseconds(10))
        #expect(schedule.deadline == origin + .milliseconds(250))
        schedule.advance(by: .milliseconds(250), now: origin + .seconds(2))
        #expect(schedule.deadline == origin + .seconds(2))
    }
}
