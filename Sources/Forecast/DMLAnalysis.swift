import SQLParser

extension LockCollector {
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `MERGE`: RowExclusiveLock on the table written, RowShareLock on
    /// tables `FOR UPDATE/SHARE` locks rows of, AccessShareLock on every other table read; the tables a foreign
    /// key check reads; partitions of a partitioned table; the tables behind a view.
    mutating func dataStatement(_ statement: ParseNode, type: String) {
        var written: [RelationName] = []
        let nodes = statement.descendants(ofTypes: Self.dataStatementTypes)
        for writer in ["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"] {
            for node in nodes[writer] ?? [] {
                guard let target = node["relation"]?.relationName else { continue }
                written.append(target)
                lock(target, .rowExclusive, "written", recurse: writer != "InsertStmt")
                foreignKeyChecks(node, writer: writer, target: target)
            }
        }
        for select in nodes["SelectStmt"] ?? [] where !(select["lockingClause"]?.elements.isEmpty ?? true) {
            rowLocks(select)
        }
        for name in statement.namedRelations where !written.contains(name) {
            lock(name, .accessShare, "read", recurse: true)
            for source in facts.relation(name.key)?.viewSources ?? [] {
                lock(key: source, .accessShare, "read through a view")
            }
        }
        for target in written {
            for source in facts.relation(target.key)?.viewSources ?? [] {
                lock(key: source, .rowExclusive, "written through the view \(target)")
            }
            if facts.relation(target.key)?.isPartitioned == true, type == "InsertStmt" {
                note("INSERT into a partitioned table also takes RowExclusiveLock on each partition a row is routed to")
            }
        }
        if nodes["UpdateStmt"] != nil || nodes["DeleteStmt"] != nil {
            note("UPDATE and DELETE lock every row they change until the transaction ends")
        }
    }

    /// The statements of a data statement's tree that take locks: made once, not at each statement.
    private static let dataStatementTypes: Set<String> = [
        "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "SelectStmt",
    ]

    /// `FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE [OF …]`: RowShareLock on the tables whose rows it locks.
    private mutating func rowLocks(_ select: ParseNode) {
        let clauses = (select["lockingClause"]?.elements ?? []).compactMap { $0["LockingClause"] }
        let from = (select["fromClause"]?.elements ?? []).flatMap(\.namedRelations)
        for clause in clauses {
            let named = (clause["lockedRels"]?.elements ?? []).compactMap(\.relationName)
            let targets = named.isEmpty ? from : from.filter { table in named.contains { $0.name == table.name } }
            for table in targets {
                lock(
                    table,
                    .rowShare,
                    "SELECT … FOR \(clause["strength"]?.text?.dropFirst(7) ?? "UPDATE")",
                    recurse: true
                )
            }
        }
    }

    /// The foreign key checks a write runs: `FOR KEY SHARE` of the referenced table (RowShareLock) for a row
    /// whose key is inserted or changed, and for a row of a referenced table deleted or whose key changes, the
    /// referencing tables (RowExclusiveLock when the foreign key's action writes them), their partitions, and what
    /// a cascade writes in turn. All of it runs per row: it depends on rows.
    private mutating func foreignKeyChecks(_ node: ParseNode, writer: String, target: RelationName) {
        guard let known = facts.relation(target.key) else { return }
        let setColumns = (node["targetList"]?.elements ?? []).compactMap { $0["ResTarget"]?["name"]?.text }
        let insertColumns = (node["cols"]?.elements ?? []).compactMap { $0["ResTarget"]?["name"]?.text }
        if writer == "InsertStmt", known.isPartitioned {
            for partition in known.descendants {
                lock(key: partition, .rowExclusive, "a row routed to it is written", dependsOnRows: true)
            }
        }
        // The foreign keys only are sorted: every write of a table with a primary key would sort it otherwise.
        for constraint in known.constraints.values.filter({ $0.type == "f" }).sorted(by: {
            $0.columns.lexicographicallyPrecedes($1.columns)
        }) {
            guard let referenced = constraint.referencedTable else { continue }
            let checks: Bool
            switch writer {
            case "InsertStmt":
                checks = insertColumns.isEmpty || !Set(insertColumns).isDisjoint(with: constraint.columns)
            case "UpdateStmt": checks = !Set(setColumns).isDisjoint(with: constraint.columns)
            case "MergeStmt": checks = true
            default: checks = false
            }
            guard checks else { continue }
            for key in [referenced] + (facts.relation(referenced)?.descendants ?? []) {
                lock(key: key, .rowShare, "the foreign key check reads it FOR KEY SHARE", dependsOnRows: true)
            }
        }
        guard ["DeleteStmt", "UpdateStmt", "MergeStmt"].contains(writer) else { return }
        referencingTables(
            of: known,
            deleting: writer == "DeleteStmt",
            setColumns: writer == "UpdateStmt" ? setColumns : nil,
            depth: 0
        )
    }

    /// The tables whose foreign keys reference `known`, locked as the check or action on a deleted row (or a
    /// changed key, `setColumns`) takes them; a cascading delete goes on to what references those, up to 4 deep.
    private mutating func referencingTables(
        of known: RelationFacts,
        deleting: Bool,
        setColumns: [String]?,
        depth: Int
    ) {
        guard depth < 4 else { return }
        for foreignKey in known.referencedBy {
            if let setColumns, Set(setColumns).isDisjoint(with: foreignKey.referencedColumns) { continue }
            let action = deleting ? foreignKey.onDelete : foreignKey.onUpdate
            let writes = ["c", "n", "d"].contains(action)
            let referencing = facts.relation(foreignKey.table)
            for key in [foreignKey.table] + (referencing?.descendants ?? []) {
                lock(
                    key: key,
                    writes ? .rowExclusive : .rowShare,
                    writes
                        ? "its foreign key's ON \(deleting ? "DELETE" : "UPDATE") action writes it"
                        : "the foreign key check reads it FOR KEY SHARE",
                    dependsOnRows: true
                )
            }
            note(
                "the foreign key check on \(foreignKey.table.replacing("\"", with: "")) runs only if a row is deleted or its key changes"
            )
            if deleting, action == "c", let referencing {
                referencingTables(of: referencing, deleting: true, setColumns: nil, depth: depth + 1)
            }
        }
    }
}
