/// PostgreSQL's table-level lock modes, weakest first (`lockdefs.h`).
package enum LockMode: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case accessShare = 1
    case rowShare
    case rowExclusive
    case shareUpdateExclusive
    case share
    case shareRowExclusive
    case exclusive
    case accessExclusive

    /// The name `pg_locks.mode` shows, such as `AccessExclusiveLock`.
    package var name: String {
        switch self {
        case .accessShare: "AccessShareLock"
        case .rowShare: "RowShareLock"
        case .rowExclusive: "RowExclusiveLock"
        case .shareUpdateExclusive: "ShareUpdateExclusiveLock"
        case .share: "ShareLock"
        case .shareRowExclusive: "ShareRowExclusiveLock"
        case .exclusive: "ExclusiveLock"
        case .accessExclusive: "AccessExclusiveLock"
        }
    }

    package var description: String { name }

    /// The mode `pg_locks.mode` names.
    package init?(name: String) {
        guard let mode = LockMode.allCases.first(where: { $0.name == name }) else { return nil }
        self = mode
    }

    package static func < (lhs: LockMode, rhs: LockMode) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether a lock of this mode and one of `other` cannot be held at once by two transactions
    /// (the table of "Conflicting Lock Modes" in PostgreSQL's documentation).
    package func conflicts(with other: LockMode) -> Bool {
        conflicting.contains(other)
    }

    private var conflicting: Set<LockMode> {
        switch self {
        case .accessShare: [.accessExclusive]
        case .rowShare: [.exclusive, .accessExclusive]
        case .rowExclusive: [.share, .shareRowExclusive, .exclusive, .accessExclusive]
        case .shareUpdateExclusive: [.shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive]
        case .share: [.rowExclusive, .shareUpdateExclusive, .shareRowExclusive, .exclusive, .accessExclusive]
        case .shareRowExclusive:
            [.rowExclusive, .shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive]
        case .exclusive:
            [.rowShare, .rowExclusive, .shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive]
        case .accessExclusive: Set(LockMode.allCases)
        }
    }

    /// What the lock stops other sessions doing to the relation while it is held.
    package var effect: String {
        switch self {
        case .accessExclusive: "blocks reads and writes"
        case .exclusive: "blocks writes and row locks (plain reads go on)"
        case .share, .shareRowExclusive: "blocks writes"
        case .shareUpdateExclusive: "blocks schema changes, VACUUM and index builds (reads and writes go on)"
        case .rowExclusive: "writes rows (conflicts with ShareLock and stronger)"
        case .rowShare: "locks rows (conflicts with ExclusiveLock and stronger)"
        case .accessShare: "reads (conflicts only with AccessExclusiveLock)"
        }
    }
}
