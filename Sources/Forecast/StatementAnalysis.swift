/// A relation lock that a statement takes.
package struct RelationLock: Sendable, Equatable {
    /// The relation: `schema.name` when the catalog knows it, else as the statement writes it.
    package var relation: String
    /// The mode.
    package var mode: LockMode
    /// Why the statement takes it, such as `ADD COLUMN` or `referenced by the foreign key`.
    package var reason: String
    /// The catalog's facts of the relation; `nil` when it does not exist yet (or was not read).
    package var facts: RelationFacts?
    /// Where the forecast knows it from.
    package var source: LockSource = .static
    /// Taken only if rows qualify: a foreign key's check or action runs per row.
    package var dependsOnRows = false

    /// Whether the statement takes it for certain: the rehearsal backend held it. A static lock is the
    /// parse tree's reading of PostgreSQL's rules, not certain.
    package var isCertain: Bool { source == .rehearsal }
}

/// Work a statement does under its lock: a rewrite or a full scan of one relation.
package struct RelationWork: Sendable, Equatable {
    /// The relation.
    package var relation: String
    /// What, such as `ALTER COLUMN TYPE bigint is not binary-coercible`.
    package var reason: String
    /// Its size and estimated rows, when the catalog knows them.
    package var facts: RelationFacts?
    /// What is done to its bytes, for the estimate in seconds.
    package var kind: WorkKind = .scan
    /// For an index build: how many indexes are built (a rewrite rebuilds all of ``RelationFacts/indexCount``).
    package var indexes = 1
    /// For an index build: of those, the ones on a collatable column (text, varchar).
    package var textIndexes = 0

    package init(
        relation: String,
        reason: String,
        facts: RelationFacts?,
        kind: WorkKind = .scan,
        indexes: Int = 1,
        textIndexes: Int = 0
    ) {
        self.relation = relation
        self.reason = reason
        self.facts = facts
        self.kind = kind
        self.indexes = indexes
        self.textIndexes = textIndexes
    }
}

/// How a statement changes the transaction the script runs in.
package enum TransactionControl: Sendable, Equatable {
    case begin
    case commit
    case rollback
    /// `PREPARE TRANSACTION`: the locks stay held until `COMMIT PREPARED`.
    case prepare
    /// `SAVEPOINT name`.
    case savepoint(String)
    /// `RELEASE SAVEPOINT name`: the savepoint ends, its locks stay held.
    case release(String)
    /// `ROLLBACK TO SAVEPOINT name`: the locks taken since the savepoint are released.
    case rollbackTo(String)
}

/// What one statement does, from its parse tree and the catalog facts.
package struct StatementAnalysis: Sendable, Equatable {
    /// The parse node's type, such as `AlterTableStmt`.
    package var kind: String
    /// Every relation lock, strongest per relation.
    package var locks: [RelationLock] = []
    /// Relations rewritten under the lock.
    package var rewrites: [RelationWork] = []
    /// Relations scanned in full under the lock.
    package var scans: [RelationWork] = []
    /// The safer forms PostgreSQL offers.
    package var advice: [String] = []
    /// What an operator should know that is not a lock: an unknown relation, a data-dependent lock.
    package var notes: [String] = []
    /// Set when the statement is not forecast, saying why.
    package var notForecast: String?
    /// BEGIN, COMMIT, ROLLBACK.
    package var transactionControl: TransactionControl?
    /// `COMMIT AND CHAIN`, `ROLLBACK AND CHAIN`: a new transaction begins at once.
    package var chains = false
    /// The statement cannot run inside a transaction block (CONCURRENTLY, VACUUM).
    package var refusesTransactionBlock = false
    /// Relations the statement creates (by ``RelationName/key``).
    package var creates: [String] = []

    package init(kind: String) {
        self.kind = kind
    }

    /// The strongest mode the statement takes on any relation.
    package var strongestMode: LockMode? { locks.map(\.mode).max() }
}

/// Collects the locks of one statement, strongest per relation, in the order they are first taken.
struct LockCollector {
    let facts: CatalogFacts
    let createdEarlier: Set<String>
    var analysis: StatementAnalysis

    init(kind: String, facts: CatalogFacts, createdEarlier: Set<String>) {
        self.facts = facts
        self.createdEarlier = createdEarlier
        analysis = StatementAnalysis(kind: kind)
    }

    /// The facts of `name`, noting once when a relation is unknown.
    mutating func resolve(_ name: RelationName) -> RelationFacts? {
        if let known = facts.relation(name.key) { return known }
        let note: String
        if createdEarlier.contains(name.key) || analysis.creates.contains(name.key) {
            note = "\(name) is created earlier in this migration: forecast from the statement alone"
        } else {
            note = "\(name) is not in the catalog: forecast from the statement alone"
        }
        if !analysis.notes.contains(note) { analysis.notes.append(note) }
        return nil
    }

    /// Takes `mode` on `name`, and on its partitions and children when `recurse` and the name includes them.
    mutating func lock(_ name: RelationName, _ mode: LockMode, _ reason: String, recurse: Bool = false) {
        let known = resolve(name)
        add(display: known?.qualifiedName ?? name.description, mode, reason, known)
        guard recurse, name.includesChildren, let known else { return }
        for child in known.descendants {
            lock(key: child, mode, reason + " (recursing to \(known.qualifiedName)'s children)")
        }
    }

    /// Takes `mode` on a relation the catalog names by key.
    mutating func lock(key: String, _ mode: LockMode, _ reason: String, dependsOnRows: Bool = false) {
        let known = facts.relation(key)
        add(
            display: known?.qualifiedName ?? String(key.unicodeScalars.filter { $0 != "\"" }),
            mode,
            reason,
            known,
            dependsOnRows: dependsOnRows
        )
    }

    private mutating func add(
        display: String,
        _ mode: LockMode,
        _ reason: String,
        _ known: RelationFacts?,
        dependsOnRows: Bool = false
    ) {
        if let index = analysis.locks.firstIndex(where: { $0.relation == display }) {
            if analysis.locks[index].mode < mode {
                analysis.locks[index].mode = mode
                analysis.locks[index].reason = reason
                analysis.locks[index].dependsOnRows = dependsOnRows
            }
        } else {
            analysis.locks.append(
                RelationLock(relation: display, mode: mode, reason: reason, facts: known, dependsOnRows: dependsOnRows)
            )
        }
    }

    /// A rewrite of `name` under the lock: row by row (``WorkKind/rewrite``), or its heap copied (``WorkKind/heapCopy``).
    mutating func rewrite(_ name: RelationName, _ reason: String, kind: WorkKind = .rewrite) {
        let known = facts.relation(name.key)
        analysis.rewrites.append(
            RelationWork(
                relation: known?.qualifiedName ?? name.description,
                reason: reason,
                facts: known,
                kind: kind
            )
        )
    }

    /// A full read of `name` under the lock: a check (``WorkKind/scan``), an index build or a foreign key's check.
    mutating func scan(
        _ name: RelationName,
        _ reason: String,
        kind: WorkKind = .scan,
        indexes: Int = 1,
        textIndexes: Int = 0
    ) {
        let known = facts.relation(name.key)
        analysis.scans.append(
            RelationWork(
                relation: known?.qualifiedName ?? name.description,
                reason: reason,
                facts: known,
                kind: kind,
                indexes: indexes,
                textIndexes: textIndexes
            )
        )
    }

    mutating func advise(_ text: String) {
        if !analysis.advice.contains(text) { analysis.advice.append(text) }
    }

    mutating func note(_ text: String) {
        if !analysis.notes.contains(text) { analysis.notes.append(text) }
    }
}
