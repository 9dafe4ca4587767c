import Enforcement
import Forecast
import FoundationEssentials
import LockInspection
import Logging
import Policy
import Postgres
import Preflight
import Response
import WardenSupport

/// The policy's `[preflight]` carried out by `upgrade`: its refusals before anything changes, its
/// terminations just before the migration starts, so that the statement the forecast saw waiting on an
/// idle transaction finds the lock free and nothing queues behind it.
struct PreflightActions: Sendable {
    /// What the policy decided of the forecast.
    private(set) var decision: PreflightDecision
    /// What the report's warnings should say of it.
    private(set) var warnings: [String]

    /// Judges `forecast` by `policy`'s `[preflight]`, and says what it will do.
    ///
    /// - Throws: ``OperatorError`` (`supervisor`) when the policy refuses the run: nothing has changed yet.
    init(forecast: MigrationForecast?, policy: Policy?, dryRun: Bool, log: RunLog) throws(OperatorError) {
        decision = PreflightDecision()
        warnings = []
        guard let preflight = policy?.preflight else { return }
        guard let forecast else {
            // A limit that cannot be checked is not taken as met.
            let limits = [
                preflight.refuseIfWaitsOnProtected ? "refuse_if_waits_on_protected" : nil,
                preflight.maxRewriteMegabytes != nil ? "max_rewrite_mb" : nil,
                preflight.maxBlock != nil ? "max_block" : nil,
            ].compactMap { $0 }
            if !limits.isEmpty {
                throw OperatorError(
                    .supervisor,
                    "[preflight] \(limits.joined(separator: " and ")) cannot be checked: no forecast was made",
                    hint: "nothing has changed; give --forecast-sql FILE with the migration's SQL, or remove "
                        + (limits.count == 1 ? "that key" : "those keys")
                )
            }
            if preflight.terminateIdleInTransaction != nil {
                let warning = "[preflight]: no forecast was made, so terminate_idle_in_transaction is not applied"
                log.warn(warning)
                warnings = [warning]
            }
            return
        }
        decision = PreflightResponder.decide(forecast, policy: policy, context: ResponderContext(forceDryRun: dryRun))
        if !decision.refusals.isEmpty {
            // A session to end is a way out only when a refusal is about a session the migration would wait on.
            let waits = decision.refusals.contains { !$0.contains("max_rewrite_mb") && !$0.contains("max_block") }
            let ways =
                ["change the migration"] + (waits ? ["end the session it would wait on"] : [])
                + ["change the policy's [preflight]"]
            let safer = decision.saferForms.isEmpty ? "" : "; safer: " + decision.saferForms.joined(separator: "; ")
            throw OperatorError(
                .supervisor,
                "[preflight] refuses the run: " + decision.refusals.joined(separator: "; "),
                hint: "nothing has changed; see the forecast above, then " + ways.dropLast().joined(separator: ", ")
                    + " or " + ways.last! + safer
            )
        }
        for action in decision.actions {
            log.say("[preflight] " + Self.describe(action))
        }
        for sentence in decision.leftAlone {
            log.say("[preflight] " + sentence)
        }
    }

    /// Sends the terminations, each identity-checked, on a session of pgwarden's own; audits each
    /// and returns the audit lines, for the report. `serverVersion` (the preflight's) is the audit's
    /// when nothing is sent.
    func carryOut(
        connectionString: String?,
        serverVersion: String?,
        audit: [any AuditSink],
        log: RunLog,
        logger: Logger
    ) async -> [JSONValue] {
        guard decision.actions.contains(where: { $0.response.signal != nil }) else {
            return decision.actions.map { record($0, report: nil, serverVersion: serverVersion, audit: audit) }
        }
        let session: (connection: Connection, role: SessionRole)
        do {
            session = try await InspectorSession.open(connectionString: connectionString, logger: logger)
        } catch {
            log.warn(
                "[preflight]: cannot connect to terminate: \(Supervisor.describe(error)); the migration's policy still applies"
            )
            return []
        }
        let signaller = BackendSignaller(connection: session.connection, role: session.role)
        var lines: [JSONValue] = []
        for action in decision.actions {
            let report = await action.response.signal.asyncMap { await signaller.send($0) }
            if let report { log.say("[preflight] " + Self.describe(report)) }
            lines.append(record(action, report: report, serverVersion: session.role.serverVersionText, audit: audit))
        }
        await session.connection.close()
        return lines
    }

    private func record(
        _ action: PreflightDecision.Action,
        report: BackendSignaller.Report?,
        serverVersion: String?,
        audit: [any AuditSink]
    ) -> JSONValue {
        let line = AuditRecord(time: Date(), response: action.response, report: report, serverVersion: serverVersion)
            .json
        for sink in audit { sink.append(line) }
        return line
    }

    /// What PostgreSQL answered, in the operator's words.
    private static func describe(_ report: BackendSignaller.Report) -> String {
        let pid = report.request.target.pid
        if case .signalled = report.outcome {
            return "terminated pid \(pid): its transaction rolled back, its locks are released"
        }
        return "pid \(pid) not terminated (\(report.outcome.name))" + (report.outcome.detail.map { ": " + $0 } ?? "")
    }

    /// `statement 2 needs AccessExclusiveLock on public.t: pid 4121 (idle in transaction 41 s,
    /// application 'report') holds AccessShareLock: to be terminated just before the migration starts`;
    /// what PostgreSQL answered is said when it is sent (`terminated pid 4121: …` or why not).
    static func describe(_ action: PreflightDecision.Action) -> String {
        let lock = action.lock
        let age = lock.transactionSeconds.map { " \(DurationSyntax.format(seconds: $0))" } ?? ""
        let who =
            lock.pid == 0
            ? "a prepared transaction (pid 0)"
            : "pid \(lock.pid) (\(lock.state ?? "?")\(age)"
                + (lock.applicationName.map { $0.isEmpty ? "" : ", application '\($0)'" } ?? "") + ")"
        let what: String
        switch action.response.disposition {
        case .signal: what = "to be terminated just before the migration starts"
        case .dryRun: what = "would terminate it before the migration starts (dry run)"
        case .protected(let reason): what = "left alone: \(reason)"
        case .rateLimited, .logged: what = "left alone"
        }
        return "statement \(action.statement) would wait on \(who), which holds \(lock.mode.name) on \(lock.relation): "
            + what
    }
}

extension Optional {
    /// `map` with an asynchronous transform.
    fileprivate func asyncMap<Mapped>(_ transform: (Wrapped) async -> Mapped) async -> Mapped? {
        guard let self else { return nil }
        return await transform(self)
    }
}
