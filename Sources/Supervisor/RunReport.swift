import FoundationEssentials
import WaitGraph
import WardenSupport

/// What a run did, step by step: the `--report` JSON.
package struct RunReport: Sendable {
    /// How the run ended.
    package enum Outcome: String, Sendable, Codable {
        case succeeded, failed, aborted, interrupted
        /// The command succeeded, but pgwarden itself failed (workers not resumed, its journal lost, a session of the
        /// migration that outlived it): exit status 70.
        case supervisorFailed = "supervisor-failed"
    }

    /// One step of the run.
    package struct Step: Sendable, Codable {
        package let name: String
        package let startedAt: Date
        package var finishedAt: Date?
        package var ok: Bool
        package var detail: String?
    }

    /// One run of the command.
    package struct Attempt: Sendable {
        package let number: Int
        package let startedAt: Date
        package var finishedAt: Date?
        package var exitStatus: Int32?
        /// Why it ended early, when pgwarden knows: `lock timeout`, `max-lock-wait`, `operator`, `interrupted`.
        package var endedBy: String?
    }

    /// A blocker of one of the migration's lock waits, and what was done about it.
    package struct BlockerRecord: Sendable {
        package let pid: Int32
        package var state: String?
        package var xactSeconds: Double?
        package var applicationName: String?
        package var query: String?
        package var action: String = "none"
        package var actionBy: String?
        package var actedAt: Date?
        package var outcome: String?
    }

    /// One lock wait of the migration.
    package struct LockWaitRecord: Sendable {
        package let pid: Int32
        package let startedAt: Date
        package var waitedSeconds: Double
        package let lock: LockTarget
        package let query: String?
        /// The start of the transaction that waited, to tell how the wait ended.
        package var xactStart: String?
        package var queuedBehindMax: Int = 0
        package var queuedOldestSeconds: Double = 0
        package var blockers: [BlockerRecord] = []
        package var ended = false
        /// Once it ended: whether PostgreSQL granted the lock (`false`: the statement stopped waiting without it —
        /// cancelled, timed out, failed); `nil` while unknown.
        package var granted: Bool?
    }

    /// A lock of the migration's that other sessions queued behind: the outage it caused by holding, not waiting.
    package struct LockHoldRecord: Sendable, Equatable {
        /// Which hold: the migration's session and the relation its queue waited for.
        package struct Key: Hashable, Sendable {
            package let pid: Int32
            package let relation: String
        }

        package let pid: Int32
        /// The relation as the queue's waits show it (`schema.name`), or the lock type when it is not a relation's.
        package let relation: String
        /// The strongest mode the migration held on it, from `pg_locks`; `nil` until read (or when it could not be).
        package var mode: String?
        /// When the first session was seen queued behind it, and when the last poll still saw one.
        package let from: Date
        package var to: Date
        /// The sessions queued behind it at the last poll, and the oldest wait among them then.
        package var queued: Int
        package var queuedMax: Int
        package var queuedOldestSeconds: Double
        /// The longest any of them was seen waiting.
        package var oldestWaitSeconds: Double
        package var ended = false

        var key: Key { Key(pid: pid, relation: relation) }
    }

    package let runID: String
    package let command: [String]
    package let startedAt: Date
    package var finishedAt: Date?
    package var exitStatus: Int32?
    package var outcome: Outcome = .failed
    /// The server's version as preflight read it (`16.2`); `nil` when preflight did not connect.
    package var serverVersion: String?
    package var steps: [Step] = []
    package var attempts: [Attempt] = []
    package var lockWaits: [LockWaitRecord] = []
    package var lockHolds: [LockHoldRecord] = []
    package var alembicBefore: String?
    package var alembicAfter: String?
    /// `django_migrations` before and after the run; `nil` where there was no such table (or it could not be read).
    var djangoBefore: DjangoMigrations?
    var djangoAfter: DjangoMigrations?
    package var invalidIndexes: [String] = []
    package var warnings: [String] = []
    /// The preflight forecast (`pgwarden forecast --json`'s object), when one was made.
    package var forecast: JSONValue?
    /// What the policy's `[preflight]` did before the migration started: its audit lines.
    package var preflightActions: [JSONValue] = []

    /// Creates the report of a run starting now.
    package init(runID: String, command: [String], startedAt: Date) {
        self.runID = runID
        self.command = command
        self.startedAt = startedAt
    }

    /// The report as JSON, in the order of the field list.
    package var json: JSONValue {
        let time = { (date: Date?) -> JSONValue in .string(date.map(LockSnapshot.timestamp)) }
        return .object([
            ("run_id", .string(runID)),
            ("command", .array(command.map { .string(Redaction.redact($0)) })),
            ("started_at", time(startedAt)),
            ("finished_at", time(finishedAt)),
            ("duration_seconds", .seconds(finishedAt.map { $0.timeIntervalSince(startedAt) })),
            ("exit_status", .integer(exitStatus)),
            ("outcome", .string(outcome.rawValue)),
            ("server_version", .string(serverVersion)),
            (
                "steps",
                .array(
                    steps.map { step in
                        .object([
                            ("name", .string(step.name)), ("started_at", time(step.startedAt)),
                            ("finished_at", time(step.finishedAt)), ("ok", .bool(step.ok)),
                            ("detail", .string(step.detail)),
                        ])
                    }
                )
            ),
            (
                "attempts",
                .array(
                    attempts.map { attempt in
                        .object([
                            ("number", .integer(attempt.number)), ("started_at", time(attempt.startedAt)),
                            ("finished_at", time(attempt.finishedAt)), ("exit_status", .integer(attempt.exitStatus)),
                            ("ended_by", .string(attempt.endedBy)),
                        ])
                    }
                )
            ),
            ("lock_waits", .array(lockWaits.map(\.json))),
            ("lock_holds", .array(lockHolds.map(\.json))),
            ("alembic_version", .object([("before", .string(alembicBefore)), ("after", .string(alembicAfter))])),
            ("django_migrations", djangoJSON),
            ("invalid_indexes", .array(invalidIndexes.map(JSONValue.string))),
            ("warnings", .array(warnings.map(JSONValue.string))),
            ("forecast", forecast ?? .null),
            ("preflight_actions", .array(preflightActions)),
        ])
    }
}

extension RunReport.LockWaitRecord {
    /// The report's object for this wait.
    var json: JSONValue {
        let time = { (date: Date?) -> JSONValue in .string(date.map(LockSnapshot.timestamp)) }
        return .object([
            ("pid", .integer(pid)), ("started_at", time(startedAt)),
            ("waited_seconds", .seconds(waitedSeconds)), ("lock", lock.json),
            ("query", .string(query)), ("queued_behind_max", .integer(queuedBehindMax)),
            ("queued_oldest_seconds", .seconds(queuedOldestSeconds)),
            ("granted", granted.map(JSONValue.bool) ?? .null),
            (
                "blockers",
                .array(
                    blockers.map { blocker in
                        .object([
                            ("pid", .integer(blocker.pid)), ("state", .string(blocker.state)),
                            ("xact_seconds", .seconds(blocker.xactSeconds)),
                            ("application_name", .string(blocker.applicationName)),
                            ("query", .string(blocker.query)), ("action", .string(blocker.action)),
                            ("action_by", .string(blocker.actionBy)), ("acted_at", time(blocker.actedAt)),
                            ("outcome", .string(blocker.outcome)),
                        ])
                    }
                )
            ),
        ])
    }
}

extension RunReport.LockHoldRecord {
    /// The report's object for this hold.
    var json: JSONValue {
        .object([
            ("pid", .integer(pid)), ("relation", .string(relation)), ("mode", .string(mode)),
            ("from", .string(LockSnapshot.timestamp(from))), ("to", .string(LockSnapshot.timestamp(to))),
            ("seconds", .seconds(to.timeIntervalSince(from))), ("queued_max", .integer(queuedMax)),
            ("oldest_wait_seconds", .seconds(oldestWaitSeconds)),
        ])
    }
}

extension RunReport {
    /// `django_migrations` before and after (per app, its latest migration) and what the run applied and
    /// unapplied; `null` when there is no such table before or after.
    var djangoJSON: JSONValue {
        guard djangoBefore != nil || djangoAfter != nil else { return .null }
        let (applied, unapplied) = DjangoMigrations.change(before: djangoBefore, after: djangoAfter)
        return .object([
            ("before", djangoBefore?.json ?? .null), ("after", djangoAfter?.json ?? .null),
            ("applied", .array(applied.map(JSONValue.string))),
            ("unapplied", .array(unapplied.map(JSONValue.string))),
        ])
    }
}
