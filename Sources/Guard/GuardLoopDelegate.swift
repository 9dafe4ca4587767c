import Enforcement
import LockInspection
import Logging
import Policy
import Postgres
import Response
import WaitGraph
import WardenSupport

/// The guard's part of the shared loop: policy reloads on SIGHUP, metrics, and its log.
final class GuardLoopDelegate: ResponseLoopDelegate, @unchecked Sendable {
    // Confined to the loop's task.
    private let options: GuardDaemon.Options
    private let reload: GuardDaemon.ReloadRequest
    private let logger: Logger
    private let audit: AuditLog
    private var interval: Duration?
    private var currentPolicy: Policy?
    private var ownRole: String?
    private var claimsUnreadable = false
    /// What the last poll saw and decided: `guard --once` says it when nothing was audited.
    private(set) var lastPass = GuardDaemon.Pass()

    init(options: GuardDaemon.Options, reload: GuardDaemon.ReloadRequest, audit: AuditLog, logger: Logger) {
        self.options = options
        self.reload = reload
        self.audit = audit
        self.logger = logger
    }

    func prepare(_ responder: inout BlockerResponder) -> Duration {
        if reload.take() {
            do {
                try audit.reopen()
            } catch {
                logger.error("\(error.summary); writing on to the file open before")
            }
            do {
                let policy = try Policy(contentsOf: options.policyPath)
                responder.replace(policy)
                options.metrics?.declare(policy, forceDryRun: options.forceDryRun)
                logger.notice(
                    "policy reloaded: \(Plural.count(policy.rules.count, "rule", "rules"))",
                    metadata: ["policy": "\(options.policyPath)"]
                )
            } catch {
                logger.error("keeping the previous policy: \(error.summary)")
            }
        }
        currentPolicy = responder.policy
        let current = responder.policy?.interval ?? .milliseconds(500)
        if interval != current { interval = current }
        return current
    }

    func context(for snapshot: LockSnapshot, on connection: Connection, ownPIDs: Set<Int32>) async
        -> ResponderContext
    {
        ResponderContext(
            ownPIDs: ownPIDs,
            forceDryRun: options.forceDryRun,
            claims: await upgradeClaims(for: snapshot, on: connection)
        )
    }

    /// The sessions a supervised upgrade claimed, from the roles this guard trusts: `[protect]
    /// upgrade_roles`, else its own. When they cannot be read, every blocker is treated as
    /// unclaimed, and the guard says so once.
    private func upgradeClaims(for snapshot: LockSnapshot, on connection: Connection) async
        -> [SessionKey: UpgradeClaim]
    {
        guard !snapshot.blockers.isEmpty, let policy = currentPolicy, !policy.rules.isEmpty else { return [:] }
        let trusted = Set(policy.protection.upgradeRoles ?? ownRole.map { [$0] } ?? [])
        do {
            let claims = try await UpgradeClaims.read(for: snapshot, trustedRoles: trusted, on: connection)
            claimsUnreadable = false
            return claims
        } catch {
            if !claimsUnreadable {
                logger.error("cannot read the upgrades' claims of their migrations' sessions: \(error.description)")
            }
            claimsUnreadable = true
            return [:]
        }
    }

    func observe(
        _ snapshot: LockSnapshot,
        pollSeconds: Double,
        responder: BlockerResponder,
        context: ResponderContext
    ) async -> [Response] {
        lastPass = GuardDaemon.Pass(waits: snapshot.waits.count, blockers: snapshot.blockers.count)
        options.metrics?.recordPoll(
            seconds: pollSeconds,
            waits: snapshot.waits.count,
            longest: snapshot.waits.map(\.waitingSeconds).max() ?? 0
        )
        return []
    }

    func carriedOut(_ record: AuditRecord) {
        lastPass.decisions += 1
        options.metrics?.recordAction(
            rule: record.response.actor.ruleName ?? record.response.actor.description,
            action: record.response.action.rawValue,
            outcome: record.outcome
        )
    }

    func connected(reconnect: Bool, role: SessionRole) {
        ownRole = role.role
        if !reconnect { role.actingLimitations.forEach { logger.warning("\($0)") } }
        logger.info("connected; polling every \(interval.map { "\($0)" } ?? "500ms")")
        options.metrics?.recordConnected(reconnect: reconnect)
    }

    func roleChanged(from old: SessionRole, to new: SessionRole) {
        ownRole = new.role
        logger.notice("the role's privileges or settings changed; polling and acting as role \(new.role) is now")
        new.limitationsAdded(since: old).forEach { logger.warning("\($0)") }
    }

    func failed(_ error: PostgresError, phase: ResponseLoop.Phase) {
        switch phase {
        case .connecting(let retryIn):
            logger.error("cannot connect: \(error.description); retrying in \(retryIn)")
        case .connectionLost:
            logger.warning("lost the connection: \(error.message); reconnecting")
            options.metrics?.recordDisconnected()
        case .polling:
            logger.error("poll failed: \(error.description)")
        }
    }
}
