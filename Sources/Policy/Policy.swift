import ConfigFile
import FoundationEssentials
import WardenSupport

/// A blocker-cancellation policy: which sessions that block others to cancel or
/// terminate, which never to touch, and how fast to act at most.
package struct Policy: Sendable {
    /// How often the guard polls.
    package var interval: Duration
    /// Signal nothing; audit what would have been done.
    package var dryRun: Bool
    /// The most signals sent in any minute: a runaway rule cannot kill everything.
    package var maxActionsPerMinute: Int
    /// Sessions never signalled, whatever the rules say.
    package var protection: Protection
    /// The rules, in order: the first that matches a blocker decides.
    package var rules: [Rule]
    /// What `upgrade` does with its forecast before the migration starts; `nil`: nothing.
    package var preflight: PreflightPolicy?

    /// Creates a policy.
    package init(
        interval: Duration = .milliseconds(500),
        dryRun: Bool = false,
        maxActionsPerMinute: Int = 10,
        protection: Protection = Protection(),
        rules: [Rule] = [],
        preflight: PreflightPolicy? = nil
    ) {
        self.interval = interval
        self.dryRun = dryRun
        self.maxActionsPerMinute = maxActionsPerMinute
        self.protection = protection
        self.rules = rules
        self.preflight = preflight
    }
}

/// The `[protect]` table.
package struct Protection: Sendable {
    /// Application names (globs) never signalled.
    package var applicationNames: [Glob]
    /// Roles never signalled.
    package var users: [String]
    /// The roles whose claims of a supervised migration's sessions the guard trusts
    /// (`upgrade_roles`); `nil`: the guard's own role.
    package var upgradeRoles: [String]?

    /// Creates a protection list.
    package init(applicationNames: [Glob] = [], users: [String] = [], upgradeRoles: [String]? = nil) {
        self.applicationNames = applicationNames
        self.users = users
        self.upgradeRoles = upgradeRoles
    }
}

extension Protection {
    /// Why `[protect]` protects a session of role `usename` and application `applicationName`, if it does.
    package func reason(usename: String?, applicationName: String?) -> String? {
        if let usename, users.contains(usename) { return "[protect] users: \(usename)" }
        let application = applicationName ?? ""
        if let glob = applicationNames.first(where: { $0.matches(application) }) {
            return "[protect] application_names: \(glob)"
        }
        return nil
    }
}

/// What a rule does to a blocker it matches.
package enum PolicyAction: String, Sendable, CaseIterable {
    /// `pg_cancel_backend`: cancel its statement.
    case cancel
    /// `pg_terminate_backend`: end its session.
    case terminate
    /// Audit it only.
    case log
}

/// One `[[rule]]`. Every condition given must hold; a rule with none matches every blocker
/// that has blocked someone for `blocking_for`.
package struct Rule: Sendable {
    package var name: String
    /// How long some session has waited on the blocker (from the waiter's own wait start).
    package var blockingFor: Duration
    /// The blocker's `state` is one of these.
    package var states: [String]?
    /// The blocker's role is one of these.
    package var users: [String]?
    /// The blocker's `application_name` matches.
    package var applicationName: Glob?
    /// The blocker's database is one of these.
    package var databases: [String]?
    /// The blocker's query matches.
    package var query: QueryPattern?
    /// The blocker's transaction is at least this old.
    package var minTransactionAge: Duration?
    /// Only waiters whose `application_name` matches count (for example the migration's).
    package var waiterApplicationName: Glob?
    /// What to do.
    package var action: PolicyAction
    /// After a cancel: still blocking this long afterwards, terminate.
    package var escalateAfter: Duration?

    /// Creates a rule.
    package init(
        name: String,
        blockingFor: Duration = .zero,
        states: [String]? = nil,
        users: [String]? = nil,
        applicationName: Glob? = nil,
        databases: [String]? = nil,
        query: QueryPattern? = nil,
        minTransactionAge: Duration? = nil,
        waiterApplicationName: Glob? = nil,
        action: PolicyAction,
        escalateAfter: Duration? = nil
    ) {
        self.name = name
        self.blockingFor = blockingFor
        self.states = states
        self.users = users
        self.applicationName = applicationName
        self.databases = databases
        self.query = query
        self.minTransactionAge = minTransactionAge
        self.waiterApplicationName = waiterApplicationName
        self.action = action
        self.escalateAfter = escalateAfter
    }
}

extension Policy {
    /// The session states a rule's `state` may name.
    package static let knownStates = [
        "active", "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call", "disabled",
    ]

    /// The most `max_actions_per_minute` may say.
    package static let maximumActionsPerMinute = 1_000

    /// Reads a policy file.
    ///
    /// - Throws: ``ConfigFile/ConfigError`` naming the file, line and key of the first mistake,
    ///   or when the file cannot be read.
    package init(contentsOf path: String) throws(ConfigError) {
        try self.init(ConfigDocument(contentsOfFile: path, describedAs: "policy file"))
    }

    /// Parses a policy; `file` names it in errors.
    package init(parsing text: String, file: String) throws(ConfigError) {
        try self.init(ConfigDocument(parsing: text, file: file))
    }

    private init(_ document: ConfigDocument) throws(ConfigError) {
        let file = document.file
        var root = ConfigTableReader(document.root, file: file)
        self.init()
        interval = try root.duration("interval", in: .pollInterval) ?? interval
        dryRun = try root.bool("dry_run") ?? false
        maxActionsPerMinute =
            try root.integer("max_actions_per_minute", in: 1...Policy.maximumActionsPerMinute) ?? 10
        try root.finish()
        for name in document.tables.keys where !["protect", "preflight"].contains(name) {
            throw ConfigError(
                file: file,
                line: document.tables[name]!.line,
                "unknown table [\(name)] (known: [protect], [preflight], [[rule]])"
            )
        }
        for name in document.arrayTables.keys where name != "rule" {
            throw ConfigError(
                file: file,
                line: document.arrayTables[name]![0].line,
                "unknown table [[\(name)]] (known: [protect], [preflight], [[rule]])"
            )
        }
        if let table = document.tables["protect"] {
            var protect = ConfigTableReader(table, file: file, context: "[protect]")
            protection = Protection(
                applicationNames: (try protect.strings("application_names") ?? []).map(Glob.init),
                users: try protect.strings("users") ?? [],
                upgradeRoles: try protect.strings("upgrade_roles")
            )
            try protect.finish()
        }
        if let table = document.tables["preflight"] {
            preflight = try PreflightPolicy(table, file: file)
        }
        var names: Set<String> = []
        for table in document.arrayTables["rule"] ?? [] {
            let rule = try Rule(table, file: file)
            guard names.insert(rule.name).inserted else {
                throw ConfigError(
                    file: file,
                    line: table.line,
                    key: "name",
                    "two rules are named '\(TerminalText.value(rule.name))'"
                )
            }
            rules.append(rule)
        }
    }
}

extension Rule {
    init(_ table: ConfigTable, file: String) throws(ConfigError) {
        var reader = ConfigTableReader(table, file: file, context: "[[rule]] at line \(table.line)")
        guard let name = try reader.string("name"), !name.isEmpty else {
            throw ConfigError(file: file, line: table.line, key: "name", "every [[rule]] needs a name")
        }
        reader = ConfigTableReader(table, file: file, context: "rule '\(TerminalText.value(name))'")
        _ = try reader.string("name")
        guard let actionName = try reader.string("action") else {
            throw reader.error("action", "missing: write action = \"cancel\", \"terminate\" or \"log\"")
        }
        guard let action = PolicyAction(rawValue: actionName) else {
            throw reader.error(
                "action",
                "unknown action '\(TerminalText.value(actionName))' (cancel, terminate or log)"
            )
        }
        let states = try reader.strings("state")
        for state in states ?? [] where !Policy.knownStates.contains(state) {
            throw reader.error(
                "state",
                "unknown state '\(TerminalText.value(state))' (known: \(Policy.knownStates.joined(separator: ", ")))"
            )
        }
        var query: QueryPattern?
        if let source = try reader.string("query") {
            guard let pattern = QueryPattern(source) else {
                throw reader.error("query", "'\(TerminalText.value(source))' is not a valid regular expression")
            }
            query = pattern
        }
        let escalateAfter = try reader.duration("escalate_after")
        if escalateAfter != nil, action != .cancel {
            throw reader.error("escalate_after", "only a cancel can escalate (to terminate)")
        }
        self.init(
            name: name,
            blockingFor: try reader.duration("blocking_for", in: .zeroOrMore) ?? .zero,
            states: states,
            users: try reader.strings("users"),
            applicationName: try reader.string("application_name").map(Glob.init),
            databases: try reader.strings("databases"),
            query: query,
            minTransactionAge: try reader.duration("min_xact_age"),
            waiterApplicationName: try reader.string("waiter_application_name").map(Glob.init),
            action: action,
            escalateAfter: escalateAfter
        )
        try reader.finish()
    }
}
