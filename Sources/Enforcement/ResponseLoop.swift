import FoundationEssentials
import LockInspection
import Logging
import Postgres
import Response
import WaitGraph
import WardenSupport

/// The effectful half of the blocker-response pipeline, shared by `guard` and `upgrade`: polls
/// at a fixed rate on a clock it is given, hands each snapshot to the ``BlockerResponder``,
/// sends the signals it asks for (identity-checked), tells it what came of them, and writes
/// one audit record per decision.
package struct ResponseLoop: Sendable {
    /// Where in a tick something failed.
    package enum Phase: Sendable, Equatable {
        /// Opening pgwarden's session; the loop retries after `retryIn`.
        case connecting(retryIn: Duration)
        /// The session broke; the loop reconnects.
        case connectionLost
        /// A poll failed; the loop goes on.
        case polling
    }

    /// The server; `nil` uses libpq's environment.
    package var connectionString: String?
    /// Which waits a poll sees.
    package var scope: LockInspector.Scope
    /// Where audit records go.
    package var audit: [any AuditSink]
    /// One pass, then return (`guard --once`); a connection failure is then thrown.
    package var once: Bool
    /// The longest wait between reconnection attempts.
    package var maximumBackoff: Duration = .seconds(30)
    /// How often the session's role is read again (one small query): what a poll can see follows a
    /// `pg_monitor` revoked or `track_activities` turned off within this long, instead of never.
    package var roleCheckInterval: Duration = .seconds(10)
    private let logger: Logger

    /// Creates a loop.
    package init(
        connectionString: String?,
        scope: LockInspector.Scope = .currentDatabase,
        audit: [any AuditSink],
        once: Bool = false,
        logger: Logger
    ) {
        self.connectionString = connectionString
        self.scope = scope
        self.audit = audit
        self.once = once
        self.logger = logger
    }

    /// Runs until the task is cancelled (or one pass with ``once``), on `clock`.
    package func run<C: Clock>(
        responder initial: BlockerResponder,
        delegate: some ResponseLoopDelegate,
        clock: C
    ) async throws where C.Duration == Duration {
        var responder = initial
        var session: Session?
        var backoff = Backoff(maximum: maximumBackoff)
        var hasConnected = false
        let origin = clock.now
        var schedule = FixedRateSchedule(start: origin)
        var roleCheckedAt = origin
        defer { if let session { Task { await session.connection.close() } } }
        while !Task.isCancelled {
            let interval = delegate.prepare(&responder)
            if session == nil {
                do {
                    session = try await Session.open(connectionString, scope: scope, logger: logger)
                    delegate.connected(reconnect: hasConnected, role: session!.inspector.role)
                    roleCheckedAt = clock.now
                    hasConnected = true
                    backoff.reset()
                } catch {
                    if once { throw error }
                    let wait = backoff.next()
                    delegate.failed(error, phase: .connecting(retryIn: wait))
                    try await clock.sleep(for: wait)
                    schedule = FixedRateSchedule(start: clock.now)
                    continue
                }
            }
            guard let current = session else { continue }
            do {
                try await tick(current, &responder, delegate, now: origin.duration(to: clock.now))
                if roleCheckedAt.duration(to: clock.now) >= roleCheckInterval {
                    roleCheckedAt = clock.now
                    session = try await current.withRoleReadAgain(delegate)
                }
            } catch  where error.code == .connectionLost || error.code == .connectionFailed {
                delegate.failed(error, phase: .connectionLost)
                await current.connection.close()
                session = nil
                continue
            } catch {
                delegate.failed(error, phase: .polling)
            }
            if once { return }
            schedule.advance(by: interval, now: clock.now)
            try await clock.sleep(until: schedule.deadline, tolerance: nil)
        }
    }

    /// One poll, its responses, their signals and audit records.
    private func tick(
        _ session: Session,
        _ responder: inout BlockerResponder,
        _ delegate: some ResponseLoopDelegate,
        now: Duration
    ) async throws(PostgresError) {
        let started = ContinuousClock.now
        let snapshot = try await once ? session.inspector.pollReadingLocks() : session.inspector.poll()
        let pollSeconds = (ContinuousClock.now - started).seconds
        let context = await delegate.context(for: snapshot, on: session.connection, ownPIDs: [session.backendPID])
        var responses = responder.respond(to: snapshot, at: now, context: context)
        responses += await delegate.observe(snapshot, pollSeconds: pollSeconds, responder: responder, context: context)
        for response in responses {
            var report: BackendSignaller.Report?
            if let request = response.signal {
                let sent = await session.signaller.send(request)
                if let broken = sent.connectionError { throw broken }
                responder.record(sent.outcome, of: response)
                report = sent
            }
            let record = AuditRecord(
                time: Date(),
                response: response,
                report: report,
                serverVersion: session.inspector.role.serverVersionText
            )
            let line = record.json
            for sink in audit { sink.append(line) }
            delegate.carriedOut(record)
        }
    }

    /// pgwarden's session, and what polls and signals through it.
    struct Session: Sendable {
        let connection: Connection
        let inspector: LockInspector
        let signaller: BackendSignaller
        let backendPID: Int32

        init(connection: Connection, role: SessionRole, scope: LockInspector.Scope, backendPID: Int32) {
            self.connection = connection
            inspector = LockInspector(connection: connection, role: role, scope: scope)
            signaller = BackendSignaller(connection: connection, role: role)
            self.backendPID = backendPID
        }

        static func open(_ connectionString: String?, scope: LockInspector.Scope, logger: Logger)
            async throws(PostgresError) -> Session
        {
            let (connection, role) = try await InspectorSession.open(connectionString: connectionString, logger: logger)
            return Session(connection: connection, role: role, scope: scope, backendPID: await connection.backendPID)
        }

        /// This session as its role reads now: the same one when nothing changed.
        func withRoleReadAgain(_ delegate: some ResponseLoopDelegate) async throws(PostgresError) -> Session {
            let role = try await SessionRole.read(on: connection)
            guard role != inspector.role else { return self }
            delegate.roleChanged(from: inspector.role, to: role)
            return Session(connection: connection, role: role, scope: inspector.scope, backendPID: backendPID)
        }
    }
}
