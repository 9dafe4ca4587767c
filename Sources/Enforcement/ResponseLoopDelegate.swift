import LockInspection
import Postgres
import Response
import WaitGraph

/// What differs between the users of ``ResponseLoop`` (guard, upgrade): called in order, on
/// the loop's task alone, so an implementation may keep state without locks.
package protocol ResponseLoopDelegate: AnyObject, Sendable {
    /// Before each poll: apply a pending policy reload; returns the time to the next poll.
    func prepare(_ responder: inout BlockerResponder) -> Duration

    /// The protection context for `snapshot`: pgwarden's own pids are passed in; the upgrade
    /// adds the migration's sessions, which it may look up on `connection`.
    func context(for snapshot: LockSnapshot, on connection: Connection, ownPIDs: Set<Int32>) async -> ResponderContext

    /// Sees each snapshot, with the time the poll took; returns the operator's orders, if any.
    func observe(_ snapshot: LockSnapshot, pollSeconds: Double, responder: BlockerResponder, context: ResponderContext)
        async -> [Response]

    /// A response was carried out (or skipped) and audited.
    func carriedOut(_ record: AuditRecord)

    /// The loop connected (again, when `reconnect`) as `role`.
    func connected(reconnect: Bool, role: SessionRole)

    /// Read again while the loop runs, the session's role differs from what it was (a privilege
    /// granted or revoked, `track_activities` changed): the polls and signals go on as `new`.
    func roleChanged(from old: SessionRole, to new: SessionRole)

    /// The loop could not connect, or lost the connection, or a poll failed.
    func failed(_ error: PostgresError, phase: ResponseLoop.Phase)
}

extension ResponseLoopDelegate {
    package func context(for snapshot: LockSnapshot, on connection: Connection, ownPIDs: Set<Int32>) async
        -> ResponderContext
    {
        ResponderContext(ownPIDs: ownPIDs)
    }

    package func observe(
        _ snapshot: LockSnapshot,
        pollSeconds: Double,
        responder: BlockerResponder,
        context: ResponderContext
    ) async -> [Response] { [] }

    package func carriedOut(_ record: AuditRecord) {}
    package func connected(reconnect: Bool, role: SessionRole) {}
    package func roleChanged(from old: SessionRole, to new: SessionRole) {}
    package func failed(_ error: PostgresError, phase: ResponseLoop.Phase) {}
}
