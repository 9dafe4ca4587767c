import SQLParser

extension LockCollector {
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `MERGE`: RowExclusiveLock on the table written, RowShareLock on
    /// tables `FOR UPDATE/SHARE` locks rows of, AccessShareLock on every other table read; the tables a foreign
    /// key check reads; partitions of a partitioned table; the tables behind a view.
    mutating func dataStatement(_ statement: ParseNode, type: String) {
        var written: [RelationName] = []
        for writer in ["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"] {
            for node in statement.descendants(ofType: writer) {
                guard let target = node["relation"]?.relationName else { continue }
                written.append(target)
                lock(target, .rowExclusive, "written", recurse: writer != "InsertStmt")
                foreignKeyChecks(node, writer: writer, target: target)
            }
        }
        for select in statement.descendants(ofType: "SelectStmt")
        where !(select["lockingClause"]?.elements.isEmpty ?? true) {
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
        if statement.descendants(ofType: "UpdateStmt").isEmpty == false
            || statement.descendants(ofType: "DeleteStmt").isEmpty == false
        {
            note("UPDATE and DELETE lock every row they change until the transaction ends")
        }
    }

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
    /// referencing tables (RowExclusiveLock when the foreign key's action writes them).
    private mutating func foreignKeyChecks(_ node: ParseNode, writer: String, target: RelationName) {
        guard let known = facts.relation(target.key) else { return }
        let setColumns = (node["targetList"]?.elements ?? []).compactMap { $0["ResTarget"]?["name"]?.text }
        let insertColumns = (node["cols"]?.elements ?? []).compactMap { $0["ResTarget"]?["name"]?.text }
        for constraint in known.constraints.values.sorted(by: { $0.columns.lexicographicallyPrecedes($1.columns) })
        where constraint.type == "f" {
            guard let referenced = constraint.referencedTable else { continue }
            let checks: Bool
            switch writer {
            case "InsertStmt":
                checks = insertColumns.isEmpty || !Set(insertColumns).isDisjoint(with: constraint.columns)
            case "UpdateStmt": checks = !Set(setColumns).isDisjoint(with: constraint.columns)
            case "MergeStmt": checks = true
            default: checks = false
            }
            if checks { lock(key: referenced, .rowShare, "the foreign key check reads it FOR KEY SHARE") }
        }
        for foreignKey in known.referencedBy {
            let isDelete = writer == "DeleteStmt"
            guard
                isDelete || writer == "MergeStmt"
                    || (writer == "UpdateStmt" && !Set(setColumns).isDisjoint(with: foreignKey.referencedColumns))
            else { continue }
            let action = isDelete ? foreignKey.onDelete : foreignKey.onUpdate
            let writes = ["c", "n", "d"].contains(action)
            lock(
                key: foreignKey.table,
                writes ? .rowExclusive : .rowShare,
                writes
                    ? "its foreign key's ON \(isDelete ? "DELETE" : "UPDATE") action writes it"
                    : "the foreign key check reads it FOR KEY SHARE"
            )
            note(
                "the foreign key check on \(foreignKey.table.replacing("\"", with: "")) runs only if a row is deleted or its key changes"
            )
        }
    }
}
