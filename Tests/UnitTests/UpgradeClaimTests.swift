import Enforcement
import Foundation
import Policy
import Response
import Testing
import WaitGraph

/// A guard's judgement of a session that an upgrade claimed: protected by the claim's exact
/// identity, audited with who claimed it; the name a session gives itself counts for nothing.
@Suite("Upgrade claims")
struct UpgradeClaimTests {
    typealias T = BlockerResponderTests
    static let start = "2026-12-01 10:00:00.000001+00"

    @Test(
        "a claimed blocker is protected and audited with \"by\": \"upgrade <run id>\"; its pid's next session is judged"
    )
    func claimedIsProtected() throws {
        let claim = UpgradeClaim(holderPID: 77, holderRole: "pgwarden", holderApplicationName: "pgwarden-upgrade-R1")
        let context = ResponderContext(claims: [SessionKey(pid: 1, backendStart: Self.start): claim])
        var responder = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .cancel)]))
        let response = try #require(
            responder.respond(
                to: T.snapshot([T.blocker(1), T.waiter(2, on: 1, seconds: 5)]),
                at: .zero,
                context: context
            )
            .first
        )
        #expect(response.claim == claim)
        guard case .protected(let reason) = response.disposition else {
            Issue.record("not protected: \(response.disposition)")
            return
        }
        #expect(reason.contains("upgrade R1"))
        let audit = AuditRecord(time: Date(), response: response, report: nil).json
        guard case .object(let fields) = audit,
            case .object(let protected)? = fields.first(where: { $0.0 == "protected" })?.1
        else {
            Issue.record("no protected object in \(audit)")
            return
        }
        #expect(protected.first { $0.0 == "by" }?.1 == .string("upgrade R1"))
        #expect(fields.first { $0.0 == "outcome" }?.1 == .string("protected"))

        var fresh = BlockerResponder(policy: Policy(rules: [Rule(name: "all", action: .cancel)]))
        let reused = T.snapshot([T.blocker(1, backendStart: "2026-12-01 12:00:00+00"), T.waiter(2, on: 1, seconds: 5)])
        #expect(fresh.respond(to: reused, at: .zero, context: context).map(\.kind) == ["signal"])
    }

    @Test("a holder not named pgwarden-upgrade-<run id> is still named by its pid")
    func unnamedHolder() {
        #expect(UpgradeClaim(holderPID: 9, holderRole: "r", holderApplicationName: "psql").by == "upgrade (pid 9)")
        #expect(UpgradeClaim(holderPID: 9, holderRole: "r", holderApplicationName: "pgwarden-upgrade-").runID == nil)
    }

    @Test("[protect] upgrade_roles is read; absent, it is nil (the guard's own role)")
    func upgradeRoles() throws {
        let policy = try Policy(parsing: "[protect]\nupgrade_roles = [\"pgwarden\", \"deploy\"]\n", file: "p.toml")
        #expect(policy.protection.upgradeRoles == ["pgwarden", "deploy"])
        #expect(try Policy(parsing: "", file: "p.toml").protection.upgradeRoles == nil)
    }
}
