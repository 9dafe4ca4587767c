/// Where a forecast lock comes from.
package enum LockSource: String, Sendable, Equatable {
    /// Read from the rehearsal backend's own `pg_locks` after it ran the statement on a schema-only copy.
    case rehearsal
    /// Worked out from the parse tree and the catalog: what an empty copy cannot show, or the fallback.
    case `static`
}

/// A relation lock the rehearsal backend held after running a statement, strongest per relation.
package struct RehearsedLock: Sendable, Equatable {
    /// `pg_namespace.nspname`.
    package var schema: String
    /// `pg_class.relname`.
    package var name: String
    /// The strongest mode the statement added.
    package var mode: LockMode

    /// Creates a lock.
    package init(schema: String, name: String, mode: LockMode) {
        self.schema = schema
        self.name = name
        self.mode = mode
    }

    /// `schema.name`, as the live locks and the catalog facts name relations.
    package var qualifiedName: String { schema + "." + name }

    /// The catalog key (``RelationName/key``).
    package var key: String { RelationName(schema: schema, name: name).key }
}

/// What the rehearsal made of one statement.
package enum RehearsedStatement: Sendable, Equatable {
    /// It ran: the relation locks it added (temporary relations of the session excluded), and the names of the
    /// session's own temporary relations it locked.
    case ran(locks: [RehearsedLock], temporary: [String])
    /// It was not run, or failed, on the copy: forecast statically, saying why.
    case notRun(reason: String)
    /// It was not run because it would run code that is not PostgreSQL's own on the real server
    /// (``RehearsalStep/unseenCode(reason:)``): forecast statically, and what that code locks is not forecast.
    case unseenCode(reason: String)
}

/// The rehearsal of a whole script: ran on a copy, or why there was none.
package struct Rehearsal: Sendable, Equatable {
    /// Whether and where it ran.
    package enum Status: Sendable, Equatable {
        /// On the scratch database `copy` restored with `pgDump`.
        case ran(copy: String, pgDump: String)
        /// Not possible, saying why: the whole forecast is static.
        case unavailable(reason: String)
    }

    /// Whether and where it ran.
    package var status: Status
    /// By statement number.
    package var statements: [Int: RehearsedStatement]
    /// What the forecast should warn of: the copy's restore reported errors.
    package var warnings: [String] = []

    /// Creates a rehearsal.
    package init(status: Status, statements: [Int: RehearsedStatement] = [:]) {
        self.status = status
        self.statements = statements
    }

    /// No rehearsal, saying why.
    package static func unavailable(_ reason: String) -> Rehearsal {
        Rehearsal(status: .unavailable(reason: reason))
    }

    /// The catalog keys of every relation a rehearsed statement locked, for the catalog facts.
    package var relationKeys: [String] {
        var keys: [String] = []
        for number in statements.keys.sorted() {
            guard case .ran(let locks, _) = statements[number] else { continue }
            for lock in locks where !keys.contains(lock.key) { keys.append(lock.key) }
        }
        return keys
    }

    /// The one sentence a forecast says when there was no rehearsal.
    package var unavailableWarning: String? {
        guard case .unavailable(let reason) = status else { return nil }
        return "no rehearsal (\(reason)): every lock below is static analysis, none is certain,"
            + " and [preflight] terminates nobody on it"
    }
}
