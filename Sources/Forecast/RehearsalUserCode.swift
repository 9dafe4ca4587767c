import SQLParser

/// What could run code that is not PostgreSQL's own when the rehearsal runs a statement on a copy on the real
/// server: the copy's functions, operators and domains (read once after the restore), what the script created since,
/// its prepared statements, and whether the copy may hold rows the script wrote (so that DDL evaluates defaults,
/// constraints and index expressions on them). Pure: the effectful side reads the copy, this decides.
package struct RehearsalUserCode: Sendable, Equatable {
    /// Names (lowercased) of functions, procedures and aggregates outside `pg_catalog` and `information_schema`,
    /// an extension's included.
    package var functions: Set<String>
    /// Names of operators outside `pg_catalog` that no `pg_catalog` operator has.
    package var operators: Set<String>
    /// Names (lowercased) of domains whose default or constraints call such a function.
    package var domains: Set<String>
    /// Names (lowercased) of the types a cast whose function is not PostgreSQL's own converts from or to: a value
    /// of one can be converted with no function named in the statement (an assignment or an implicit cast).
    package var castTypes: Set<String> = []
    /// The queries of the script's prepared statements, by name (lowercased).
    package var prepared: [String: ParseNode] = [:]
    /// Rows the script wrote and committed (or outside a block) may be in the copy.
    package var rowsCommitted = false
    /// Rows the script wrote in the open transaction block may be in the copy.
    package var rowsPending = false

    /// Creates what the copy holds.
    package init(
        functions: Set<String> = [],
        operators: Set<String> = [],
        domains: Set<String> = [],
        castTypes: Set<String> = []
    ) {
        self.functions = Set(functions.map { $0.lowercased() })
        self.operators = operators
        self.domains = Set(domains.map { $0.lowercased() })
        self.castTypes = Set(castTypes.map { $0.lowercased() })
    }

    /// Whether the copy may hold rows the script wrote.
    package var rowsMayExist: Bool { rowsCommitted || rowsPending }

    /// Learns from a statement of the script: the functions, aggregates and operators it creates or renames (run
    /// or not, they count from then on), its prepared statement, whether it ended a transaction block, and, when it
    /// `ran`, whether it wrote rows (`inBlock`: whether it ran inside a transaction block).
    package mutating func learn(_ statement: ParsedStatement, ran: Bool, inBlock: Bool) {
        guard case .success(let tree) = statement.result, let (type, node) = tree.typed else { return }
        switch type {
        case "CreateFunctionStmt":
            if let name = Self.lastName(node["funcname"]) { functions.insert(name) }
        case "DefineStmt":
            let name = node["defnames"]?.elements.last?.text
            switch node["kind"]?.text {
            case "OBJECT_AGGREGATE": if let name { functions.insert(name.lowercased()) }
            case "OBJECT_OPERATOR": if let name { operators.insert(name) }
            default: break
            }
        case "RenameStmt":
            let kinds = ["OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_AGGREGATE"]
            if kinds.contains(node["renameType"]?.text ?? ""), let name = node["newname"]?.text {
                functions.insert(name.lowercased())
            }
        case "CreateCastStmt" where node["func"] != nil:
            // Both sides but PostgreSQL's own keyword types (`int`, `varchar`: written pg_catalog.int4, …).
            for side in ["sourcetype", "targettype"] {
                let names = node[side]?["names"]?.elements.compactMap(\.text) ?? []
                if names.first != "pg_catalog", let name = names.last { castTypes.insert(name.lowercased()) }
            }
        case "PrepareStmt":
            if let name = node["name"]?.text, let query = node["query"] { prepared[name.lowercased()] = query }
        case "TransactionStmt":
            switch node["kind"]?.text ?? "" {
            case "TRANS_STMT_COMMIT", "TRANS_STMT_PREPARE":
                rowsCommitted = rowsCommitted || rowsPending
                rowsPending = false
            case "TRANS_STMT_ROLLBACK": rowsPending = false
            default: break  // BEGIN, SAVEPOINT, RELEASE; ROLLBACK TO keeps what it may not undo, to be safe
            }
        default:
            if ran, Self.writesRows(tree) {
                if inBlock { rowsPending = true } else { rowsCommitted = true }
            }
        }
    }

    /// Whether a statement can put rows in the copy.
    static func writesRows(_ tree: ParseNode) -> Bool {
        let found = tree.descendants(ofTypes: [
            "InsertStmt", "UpdateStmt", "MergeStmt", "CreateTableAsStmt", "RefreshMatViewStmt", "IntoClause",
        ])
        return !found.isEmpty
    }

    static func lastName(_ list: ParseNode?) -> String? {
        list?.elements.last?.text?.lowercased()
    }
}

/// The relations a statement names, for the effectful side to look up in the copy (as the rehearsal's session
/// resolves them) before it runs: what their use would run.
package struct RelationCodeQuery: Sendable, Hashable {
    /// The names as written, each in `to_regclass`'s syntax (quoted identifiers, schema-qualified when written so).
    package var names: [String]
    /// The DML events the statement can fire triggers for, as `pg_trigger.tgtype` bits (4 INSERT, 8 DELETE,
    /// 16 UPDATE, 32 TRUNCATE); 0 for DDL, which fires none.
    package var events: Int

    /// Creates a query.
    package init(names: [String], events: Int) {
        self.names = names
        self.events = events
    }
}

/// Code that runs when a relation is used, as the copy's catalog says: one finding.
package struct RelationCode: Sendable, Equatable {
    /// The relation, as `regclass` prints it.
    package var relation: String
    /// What runs: `trigger T`, `rule R`, `a default or generated column`, `constraint C`, `index I`, `policy P`,
    /// `its view query`, `column C of domain D`.
    package var what: String
    /// The function it calls.
    package var function: String

    /// Creates a finding.
    package init(relation: String, what: String, function: String) {
        self.relation = relation
        self.what = what
        self.function = function
    }
}
