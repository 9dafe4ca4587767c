import SQLParser

extension LockCollector {
    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY]`: ShareLock (ShareUpdateExclusiveLock concurrently) on the table and
    /// its partitions; the build reads the whole table.
    mutating func createIndex(_ statement: ParseNode) {
        guard let table = statement["relation"]?.relationName else { return }
        let concurrent = statement["concurrent"]?.isTrue == true
        let mode: LockMode = concurrent ? .shareUpdateExclusive : .share
        lock(table, mode, concurrent ? "CREATE INDEX CONCURRENTLY" : "CREATE INDEX", recurse: true)
        let unique = statement["unique"]?.isTrue == true ? "unique " : ""
        let columns = (statement["indexParams"]?.elements ?? []).compactMap { $0["IndexElem"]?["name"]?.text }
        let known = facts.relation(table.key)?.columns ?? [:]
        let collatable = columns.contains { known[$0].map { [25, 1043, 1042, 19].contains($0.typeOID) } ?? false }
        scan(
            table,
            "builds the \(unique)index (reads every row)",
            kind: .indexBuild,
            textIndexes: collatable ? 1 : 0
        )
        if concurrent {
            analysis.refusesTransactionBlock = true
        } else {
            advise(
                "CREATE \(unique.uppercased())INDEX CONCURRENTLY (outside a transaction block) takes ShareUpdateExclusiveLock: writes go on"
            )
        }
    }

    /// `DROP TABLE/VIEW/INDEX/TRIGGER/…`.
    mutating func drop(_ statement: ParseNode) {
        let type = statement["removeType"]?.text ?? ""
        let concurrent = statement["concurrent"]?.isTrue == true
        let cascade = statement["behavior"]?.text == "DROP_CASCADE"
        for object in statement["objects"]?.elements ?? [] {
            let parts = object["List"]?["items"]?.nameParts ?? object.nameParts
            switch type {
            case "OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_SEQUENCE":
                guard let name = RelationName(parts: parts) else { continue }
                dropRelation(name, cascade: cascade)
            case "OBJECT_INDEX":
                guard let name = RelationName(parts: parts) else { continue }
                let mode: LockMode = concurrent ? .shareUpdateExclusive : .accessExclusive
                lock(name, mode, "DROP INDEX")
                if let table = resolve(name)?.indexTable { lock(key: table, mode, "DROP INDEX: its table") }
                if concurrent {
                    analysis.refusesTransactionBlock = true
                } else {
                    advise("DROP INDEX CONCURRENTLY (outside a transaction block) takes ShareUpdateExclusiveLock")
                }
            case "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY":
                guard let table = RelationName(parts: Array(parts.dropLast())) else { continue }
                lock(table, .accessExclusive, "DROP \(type.dropFirst(7)) \(parts.last ?? "")")
            default:
                analysis.notes.append("DROP \(type.dropFirst(7)): no relation lock of its own")
            }
        }
    }

    private mutating func dropRelation(_ name: RelationName, cascade: Bool) {
        lock(name, .accessExclusive, "DROP")
        guard let known = resolve(name) else { return }
        for child in known.descendants { lock(key: child, .accessExclusive, "DROP: a partition or child") }
        for constraint in known.constraints.values where constraint.type == "f" {
            if let referenced = constraint.referencedTable, referenced != known.qualifiedName {
                lock(key: referenced, .accessExclusive, "its foreign key's triggers are dropped")
            }
        }
        if cascade {
            for foreignKey in known.referencedBy {
                lock(key: foreignKey.table, .accessExclusive, "CASCADE drops its foreign key")
            }
        }
    }

    /// `TRUNCATE`: AccessExclusiveLock on each table, its children unless `ONLY`, and with `CASCADE` the tables
    /// that reference it.
    mutating func truncate(_ statement: ParseNode) {
        let cascade = statement["behavior"]?.text == "DROP_CASCADE"
        for name in (statement["relations"]?.elements ?? []).compactMap(\.relationName) {
            lock(name, .accessExclusive, "TRUNCATE", recurse: true)
            guard cascade, let known = facts.relation(name.key) else { continue }
            for foreignKey in known.referencedBy {
                lock(key: foreignKey.table, .accessExclusive, "TRUNCATE … CASCADE")
            }
        }
    }

    /// `REFRESH MATERIALIZED VIEW [CONCURRENTLY]`.
    mutating func refreshMaterializedView(_ statement: ParseNode) {
        guard let name = statement["relation"]?.relationName else { return }
        let concurrent = statement["concurrent"]?.isTrue == true
        lock(name, concurrent ? .exclusive : .accessExclusive, "REFRESH MATERIALIZED VIEW")
        for source in resolve(name)?.viewSources ?? [] { lock(key: source, .accessShare, "read by the view's query") }
        if concurrent {
            scan(name, "REFRESH … CONCURRENTLY runs the query and compares it with the old contents")
        } else {
            rewrite(name, "REFRESH MATERIALIZED VIEW replaces its contents")
            advise("REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index) takes ExclusiveLock: reads go on")
        }
    }

    /// `VACUUM [FULL]` and `ANALYZE`.
    mutating func vacuum(_ statement: ParseNode) {
        let options = Set((statement["options"]?.elements ?? []).compactMap { $0["DefElem"]?["defname"]?.text })
        let isVacuum = statement["is_vacuumcmd"]?.isTrue == true
        let full = isVacuum && options.contains("full")
        if isVacuum { analysis.refusesTransactionBlock = true }
        let relations = (statement["rels"]?.elements ?? []).compactMap {
            $0["VacuumRelation"]?["relation"]?.relationName
        }
        if relations.isEmpty { note("without a table it processes every table of the database, one at a time") }
        for name in relations {
            lock(
                name,
                full ? .accessExclusive : .shareUpdateExclusive,
                full ? "VACUUM FULL" : (isVacuum ? "VACUUM" : "ANALYZE"),
                recurse: true
            )
            if full {
                rewrite(name, "VACUUM FULL rewrites the table and its indexes", kind: .heapCopy)
            } else {
                scan(name, "reads the table")
            }
        }
    }

    /// `CLUSTER table [USING index]`: AccessExclusiveLock and a rewrite.
    mutating func cluster(_ statement: ParseNode) {
        guard let name = statement["relation"]?.relationName else {
            analysis.refusesTransactionBlock = true
            note("CLUSTER without a table re-clusters every clustered table")
            return
        }
        lock(name, .accessExclusive, "CLUSTER")
        rewrite(name, "CLUSTER rewrites the table in index order", kind: .heapCopy)
    }

    /// `REINDEX`: ShareLock on the table and AccessExclusiveLock on its indexes; concurrently ShareUpdateExclusiveLock.
    mutating func reindex(_ statement: ParseNode) {
        guard let name = statement["relation"]?.relationName else {
            note("REINDEX SCHEMA/DATABASE/SYSTEM: not forecast per table")
            return
        }
        let concurrent = (statement["params"]?.elements ?? []).contains {
            $0["DefElem"]?["defname"]?.text == "concurrently"
        }
        if concurrent { analysis.refusesTransactionBlock = true }
        if statement["kind"]?.text == "REINDEX_OBJECT_INDEX" {
            lock(name, concurrent ? .shareUpdateExclusive : .accessExclusive, "REINDEX INDEX")
            if let table = resolve(name)?.indexTable {
                lock(key: table, concurrent ? .shareUpdateExclusive : .share, "REINDEX INDEX: its table")
            }
        } else {
            lock(name, concurrent ? .shareUpdateExclusive : .share, "REINDEX TABLE", recurse: true)
        }
        scan(
            name,
            "rebuilds the index(es), reading the table",
            kind: .indexBuild,
            indexes: statement["kind"]?.text == "REINDEX_OBJECT_INDEX" ? 1 : max(resolve(name)?.indexCount ?? 1, 1)
        )
        if !concurrent { advise("REINDEX … CONCURRENTLY (outside a transaction block) takes ShareUpdateExclusiveLock") }
    }

    /// `LOCK TABLE`: the mode asked for (AccessExclusiveLock by default) on each table, its children unless
    /// `ONLY`, and for a view the relations it reads.
    mutating func lockTable(_ statement: ParseNode) {
        let mode =
            LockMode(rawValue: statement["mode"]?.integer ?? LockMode.accessExclusive.rawValue) ?? .accessExclusive
        for name in (statement["relations"]?.elements ?? []).compactMap(\.relationName) {
            lock(name, mode, "LOCK TABLE", recurse: true)
            for source in facts.relation(name.key)?.viewSources ?? [] {
                lock(key: source, mode, "LOCK TABLE on a view")
            }
        }
        if statement["nowait"]?.isTrue != true, mode >= .share { adviseLockTimeout(mode) }
    }

    /// `CREATE TABLE`: the new table; the parent of a partition (AccessExclusiveLock) or of an inheritance child;
    /// the tables its foreign keys reference; the tables its `LIKE` copies.
    mutating func createTable(_ statement: ParseNode) {
        guard let name = statement["relation"]?.relationName else { return }
        analysis.creates.append(name.key)
        lock(name, .accessExclusive, "CREATE TABLE (a new relation: no one else sees it before COMMIT)")
        let partition = statement["partbound"] != nil
        for parent in (statement["inhRelations"]?.elements ?? []).compactMap(\.relationName) {
            lock(
                parent,
                partition ? .accessExclusive : .shareUpdateExclusive,
                partition ? "CREATE TABLE … PARTITION OF" : "CREATE TABLE … INHERITS"
            )
        }
        for element in statement["tableElts"]?.elements ?? [] {
            if let like = element["TableLikeClause"]?["relation"]?.relationName {
                lock(like, .accessShare, "CREATE TABLE … (LIKE)")
            }
        }
        for constraint in statement.descendants(ofType: "Constraint")
        where constraint["contype"]?.text == "CONSTR_FOREIGN" {
            if let referenced = constraint["pktable"]?.relationName {
                lock(referenced, .shareRowExclusive, "referenced by a foreign key of the new table")
            }
        }
    }

    /// `CREATE VIEW`, `CREATE TABLE AS`, `CREATE MATERIALIZED VIEW`: the new relation, AccessShareLock on what the
    /// query reads; `OR REPLACE` of an existing view takes AccessExclusiveLock on it.
    mutating func createFromQuery(_ statement: ParseNode, target: RelationName?, replace: Bool, kind: String) {
        guard let target else { return }
        if replace, facts.relation(target.key) != nil {
            lock(target, .accessExclusive, "CREATE OR REPLACE \(kind)")
        } else {
            analysis.creates.append(target.key)
            lock(target, .accessExclusive, "CREATE \(kind) (a new relation: no one else sees it before COMMIT)")
        }
        let query = statement["query"] ?? .null
        for source in query.namedRelations where source != target {
            lock(source, .accessShare, "read by the \(kind.lowercased())'s query")
            for inner in facts.relation(source.key)?.viewSources ?? [] {
                lock(key: inner, .accessShare, "read through a view")
            }
        }
    }

    /// `CREATE TRIGGER`: ShareRowExclusiveLock on the table.
    mutating func createTrigger(_ statement: ParseNode) {
        guard let table = statement["relation"]?.relationName else { return }
        let replace = statement["replace"]?.isTrue == true
        lock(
            table,
            replace ? .accessExclusive : .shareRowExclusive,
            replace ? "CREATE OR REPLACE TRIGGER" : "CREATE TRIGGER"
        )
        if let other = statement["constrrel"]?.relationName {
            lock(other, .accessShare, "the constraint trigger's other table")
        }
    }

    /// `COMMENT ON TABLE/COLUMN/INDEX/…`: ShareUpdateExclusiveLock on the relation.
    mutating func comment(_ statement: ParseNode) {
        let type = statement["objtype"]?.text ?? ""
        let parts = statement["object"]?["List"]?["items"]?.nameParts ?? statement["object"]?.nameParts ?? []
        let relationParts: [String]
        switch type {
        case "OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_INDEX", "OBJECT_FOREIGN_TABLE", "OBJECT_SEQUENCE":
            relationParts = parts
        case "OBJECT_COLUMN": relationParts = Array(parts.dropLast())
        case "OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE":
            relationParts = Array(parts.dropLast())
        default:
            note("COMMENT ON \(type.dropFirst(7)): no relation lock")
            return
        }
        if let name = RelationName(parts: relationParts) {
            lock(name, .shareUpdateExclusive, "COMMENT ON \(type.dropFirst(7))")
        }
    }

    /// `ALTER … RENAME`: AccessExclusiveLock on the table (ShareUpdateExclusiveLock for an index).
    mutating func rename(_ statement: ParseNode) {
        guard let name = statement["relation"]?.relationName else {
            note("RENAME of \(statement["renameType"]?.text?.dropFirst(7) ?? "?"): no relation lock")
            return
        }
        let type = statement["renameType"]?.text ?? ""
        let isIndex = type == "OBJECT_INDEX"
        lock(
            name,
            isIndex ? .shareUpdateExclusive : .accessExclusive,
            "RENAME \(type.dropFirst(7))",
            recurse: type == "OBJECT_COLUMN"
        )
    }

    /// `ALTER TABLE … SET SCHEMA`: AccessExclusiveLock.
    mutating func setSchema(_ statement: ParseNode) {
        guard let name = statement["relation"]?.relationName else {
            note("SET SCHEMA of a non-relation: no relation lock")
            return
        }
        lock(name, .accessExclusive, "SET SCHEMA")
    }

    /// `CREATE POLICY`, `CREATE RULE`, `CREATE STATISTICS`: their table.
    mutating func tableObject(_ statement: ParseNode, mode: LockMode, label: String) {
        let table =
            statement["table"]?.relationName ?? statement["relation"]?.relationName
            ?? (statement["relations"]?.elements.first?.relationName)
        guard let table else { return }
        lock(table, mode, label)
    }
}
