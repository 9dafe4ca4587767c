/// What the responder is told, besides the snapshot, about whom it must never signal.
public struct ResponderContext: Sendable {
    /// pgwarden's own sessions, by their backend pids.
    public var ownPIDs: Set<Int32>
    /// The supervised migration's sessions (upgrade); `nil` for the guard.
    public var migration: MigrationSessions?
    /// Signal nothing, whatever the policy says (`--dry-run`).
    public var forceDryRun: Bool
    /// Sessions that a `pgwarden upgrade` has claimed as its migration's, from a trusted role, by identity.
    public var claims: [SessionKey: UpgradeClaim]

    /// Creates a context.
    public init(
        ownPIDs: Set<Int32> = [],
        migration: MigrationSessions? = nil,
        forceDryRun: Bool = false,
        claims: [SessionKey: UpgradeClaim] = [:]
    ) {
        self.ownPIDs = ownPIDs
        self.migration = migration
        self.forceDryRun = forceDryRun
        self.claims = claims
    }
}

/// The supervised migration's sessions, known by identity, never by a name anyone could take.
public struct MigrationSessions: Sendable, Equatable {
    /// Sessions named for this run, or opened by the migration's process tree.
    public var identified: Set<SessionKey>
    /// Every session that existed before the migration started.
    public var before: Set<SessionKey>

    /// Creates the set.
    public init(identified: Set<SessionKey> = [], before: Set<SessionKey> = []) {
        self.identified = identified
        self.before = before
    }

    /// Whether any of the migration's sessions has been found yet.
    public var isIdentified: Bool { !identified.isEmpty }

    /// Whether `key` is one of the migration's sessions.
    public func contains(_ key: SessionKey) -> Bool { identified.contains(key) }

    /// Whether `key` might be the migration's: its sessions are not identified yet, and this
    /// one connected after the migration started.
    public func mightContain(_ key: SessionKey) -> Bool {
        !isIdentified && !before.contains(key)
    }
}
