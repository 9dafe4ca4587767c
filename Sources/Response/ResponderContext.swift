/// What the responder is told, besides the snapshot, about whom it must never signal.
package struct ResponderContext: Sendable {
    /// pgwarden's own sessions, by their backend pids.
    package var ownPIDs: Set<Int32>
    /// The supervised migration's sessions (upgrade); `nil` for the guard.
    package var migration: MigrationSessions?
    /// Signal nothing, whatever the policy says (`--dry-run`).
    package var forceDryRun: Bool
    /// Sessions that a `pgwarden upgrade` has claimed as its migration's, from a trusted role, by identity.
    package var claims: [SessionKey: UpgradeClaim]

    /// Creates a context.
    package init(
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
package struct MigrationSessions: Sendable, Equatable {
    /// Sessions named for this run, or opened by the migration's process tree.
    package var identified: Set<SessionKey>
    /// Every session that existed before the migration started.
    package var before: Set<SessionKey>

    /// Creates the set.
    package init(identified: Set<SessionKey> = [], before: Set<SessionKey> = []) {
        self.identified = identified
        self.before = before
    }

    /// Whether any of the migration's sessions has been found yet.
    package var isIdentified: Bool { !identified.isEmpty }

    /// Whether `key` is one of the migration's sessions.
    package func contains(_ key: SessionKey) -> Bool { identified.contains(key) }

    /// Whether `key` might be the migration's: its sessions are not identified yet, and this
    /// one connected after the migration started.
    package func mightContain(_ key: SessionKey) -> Bool {
        !isIdentified && !before.contains(key)
    }
}
