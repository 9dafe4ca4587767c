import FoundationEssentials
import WaitGraph
import WardenSupport

/// What a run did, step by step: the `--report` JSON.
public struct RunReport: Sendable {
    /// How the run ended.
    public enum Outcome: String, Sendable, Codable {
        case succeeded, failed, aborted, interrupted
        /// The command succeeded, but pgwarden itself failed (workers not resumed, its journal lost, a session of the
        /// migration that outlived it): exit status 70.
        case supervisorFailed = "supervisor-failed"
    }

    /// One step of the run.
    public struct Step: Sendable, Codable {
        public let name: String
        public let startedAt: Date
        public var finishedAt: Date?
        public var ok: Bool
        public var detail: String?
    }

    /// One run of the command.
    public struct Attempt: Sendable {
        public let number: Int
        public let startedAt: Date
        public var finishedAt: Date?
        public var exitStatus: Int32?
        /// Why it ended early, when pgwarden knows: `lock timeout`, `max-lock-wait`, `operator`, `interrupted`.
        public var endedBy: String?
    }

    /// A blocker of one of the migration's lock waits, and what was done about it.
    public struct BlockerRecord: Sendable {
        public let pid: Int32
        public var state: String?
        public var xactSeconds: Double?
        public var applicationName: String?
        public var query: String?
        public var action: String = "none"
        public var actionBy: String?
        public var actedAt: Date?
        public var outcome: String?
    }

    /// One lock wait of the migration.
    public struct LockWaitRecord: Sendable {
        public let pid: Int32
        public let startedAt: Date
        public var waitedSeconds: Double
        public let lock: LockTarget
        public let query: String?
        /// The start of the transaction that waited, to tell how the wait ended.
        public var xactStart: String?
        public var queuedBehindMax: Int = 0
        public var queuedOldestSeconds: Double = 0
        public var blockers: [BlockerRecord] = []
        public var ended = false
        /// Once it ended: whether PostgreSQL granted the lock (`false`: the statement stopped waiting without it —
        /// cancelled, timed out, failed); `nil` while unknown.
        public var granted: Bool?
    }

    /// A lock of the migration's that other sessions queued behind: the outage it caused by holding, not waiting.
    public struct LockHoldRecord: Sendable, Equatable {
        /// Which hold: the migration's session and the relation its queue waited for.
        public struct Key: Hashable, Sendable {
            public let pid: Int32
            public let relation: String
        }

        public let pid: Int32
        /// The relation as the queue's waits show it (`schema.name`), or the lock type when it is not a relation's.
        public let relation: String
        /// The strongest mode the migration held on it, from `pg_locks`; `nil` until read (or when it could not be).
        public var mode: String?
        /// When the first session was seen queued behind it, and when the last poll still saw one.
        public let from: Date
        public var to: Date
        /// The sessions queued behind it at the last poll, and the oldest wait among them then.
        public var queued: Int
        public var queuedMax: Int
        public var queuedOldestSeconds: Double
        /// The longest any of them was seen waiting.
        public var oldestWaitSeconds: Double
        public var ended = false

        var key: Key { Key(pid: pid, relation: relation) }
    }

    public let runID: String
    public let command: [String]
    public let startedAt: Date
    public var finishedAt: Date?
    public var exitStatus: Int32?
    public var outcome: Outcome = .failed
    /// The server's version as preflight read it (`16.2`); `nil` when preflight did not connect.
    public var serverVersion: String?
    public var steps: [Step] = []
    public var attempts: [Attempt] = []
    public var lockWaits: [LockWaitRecord] = []
    public var lockHolds: [LockHoldRecord] = []
    public var alembicBefore: String?
    public var alembicAfter: String?
    /// `django_migrations` before and after the run; `nil` where there was no such table (or it could not be read).
    var djangoBefore: DjangoMigrations?
    var djangoAfter: DjangoMigrations?
    public var invalidIndexes: [String] = []
    public var warnings: [String] = []
    /// The preflight forecast (`pgwarden forecast --json`'s object), when one was made.
    public var forecast: JSONValue?
    /// What the policy's `[preflight]` did before the migration started: its audit lines.
    public var preflightActions: [JSONValue] = []

    /// Creates the report of a run starting now.
    public init(runID: String, command: [String], startedAt: Date) {
        self.runID = runID
        self.command = command
        self.startedAt = startedAt
    }

    /// The report as JSON, in the order of the field list.
    public var json: JSONValue {
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
