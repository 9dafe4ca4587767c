import SQLParser

extension LockCollector {
    /// `ALTER TABLE` (and `ALTER INDEX/VIEW/MATERIALIZED VIEW/SEQUENCE/FOREIGN TABLE`): the strongest
    /// subcommand's mode on the relation, its children where the subcommand recurses, and each subcommand's
    /// other relations.
    mutating func alterTable(_ statement: ParseNode) {
        guard let name = statement["relation"]?.relationName else {
            analysis.notForecast = "ALTER without a relation"
            return
        }
        let commands = (statement["cmds"]?.elements ?? []).compactMap { $0["AlterTableCmd"] }
        var modes: [LockMode] = []
        for command in commands {
            guard let mode = AlterTableLockLevel.mode(of: command) else {
                analysis.notForecast = "no lock rule for ALTER TABLE subcommand \(command["subtype"]?.text ?? "?")"
                return
            }
            modes.append(mode)
        }
        guard let strongest = modes.max() else { return }
        let labels = commands.map(AlterTableLockLevel.label(of:))
        lock(name, strongest, "ALTER " + labels.joined(separator: ", "))
        let recursing = commands.contains { AlterTableLockLevel.recursing.contains($0["subtype"]?.text ?? "") }
        if recursing, name.includesChildren, let known = facts.relation(name.key) {
            for child in known.descendants { lock(key: child, strongest, "ALTER recursing to the children") }
        }
        for command in commands { alterTableCommand(command, on: name, mode: strongest) }
        if strongest >= .shareRowExclusive { adviseLockTimeout(strongest) }
    }

    mutating func adviseLockTimeout(_ mode: LockMode) {
        advise(
            "SET lock_timeout (e.g. '2s') before it and retry on a lock timeout: while it waits for \(mode.name),"
                + " every later statement on the table queues behind it"
        )
    }

    private mutating func alterTableCommand(_ command: ParseNode, on table: RelationName, mode: LockMode) {
        let definition = command["def"]
        switch command["subtype"]?.text ?? "" {
        case "AT_AddColumn", "AT_AddColumnRecurse":
            if let column = definition?["ColumnDef"] { addColumn(column, to: table) }
        case "AT_AlterColumnType":
            alterColumnType(command, on: table)
        case "AT_SetNotNull":
            setNotNull(command["name"]?.text ?? "?", on: table)
        case "AT_AddConstraint", "AT_AddConstraintRecurse":
            if let constraint = definition?["Constraint"] { addConstraint(constraint, to: table) }
        case "AT_ValidateConstraint", "AT_ValidateConstraintRecurse":
            validateConstraint(command["name"]?.text ?? "?", on: table)
        case "AT_DropConstraint", "AT_DropConstraintRecurse":
            let constraint = facts.relation(table.key)?.constraints[command["name"]?.text ?? ""]
            if constraint?.type == "f", let referenced = constraint?.referencedTable {
                lock(key: referenced, .accessExclusive, "its foreign key's triggers are dropped")
            }
        case "AT_AttachPartition":
            partition(command, of: table, attaching: true)
        case "AT_DetachPartition":
            partition(command, of: table, attaching: false)
        case "AT_AddInherit":
            if let parent = definition?.relationName { lock(parent, .shareUpdateExclusive, "INHERIT parent") }
        case "AT_DropInherit":
            if let parent = definition?.relationName { lock(parent, .accessShare, "NO INHERIT parent") }
        case "AT_SetTableSpace": rewrite(table, "SET TABLESPACE copies the table")
        case "AT_SetLogged", "AT_SetUnLogged": rewrite(table, "SET LOGGED/UNLOGGED rewrites the table")
        case "AT_SetAccessMethod": rewrite(table, "SET ACCESS METHOD rewrites the table")
        default: break
        }
    }

    private mutating func addColumn(_ column: ParseNode, to table: RelationName) {
        let name = column["colname"]?.text ?? "?"
        let typeName = column["typeName"]?["names"]?.nameParts.last ?? ""
        if ["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"].contains(typeName) {
            rewrite(table, "ADD COLUMN \(name) \(typeName): its default nextval() is volatile")
        }
        for constraint in (column["constraints"]?.elements ?? []).compactMap({ $0["Constraint"] }) {
            switch constraint["contype"]?.text ?? "" {
            case "CONSTR_DEFAULT":
                if let volatile = volatileCall(in: constraint["raw_expr"] ?? .null) {
                    rewrite(table, "ADD COLUMN \(name) DEFAULT calls \(volatile)(), which is volatile")
                }
            case "CONSTR_IDENTITY": rewrite(table, "ADD COLUMN \(name) GENERATED AS IDENTITY fills every row")
            case "CONSTR_GENERATED":
                rewrite(table, "ADD COLUMN \(name) GENERATED ALWAYS AS … STORED computes every row")
            case "CONSTR_FOREIGN":
                if let referenced = constraint["pktable"]?.relationName {
                    lock(referenced, .shareRowExclusive, "referenced by the foreign key of \(table).\(name)")
                }
            case "CONSTR_PRIMARY", "CONSTR_UNIQUE":
                scan(table, "ADD COLUMN \(name) builds its unique index", kind: .indexBuild)
            case "CONSTR_CHECK": scan(table, "ADD COLUMN \(name) checks its CHECK constraint on every row")
            default: break
            }
        }
    }

    /// The first function a default expression calls that is not known to be stable or immutable.
    func volatileCall(in expression: ParseNode) -> String? {
        for call in expression.descendants(ofType: "FuncCall") {
            let name = call["funcname"]?.nameParts.last ?? "?"
            if !facts.nonVolatileFunctions.contains(name) { return name }
        }
        return nil
    }

    private mutating func alterColumnType(_ command: ParseNode, on table: RelationName) {
        let columnName = command["name"]?.text ?? "?"
        let definition = command["def"]?["ColumnDef"]
        guard let target = definition?["typeName"].flatMap(TypeNameText.init) else { return }
        let column = facts.relation(table.key)?.columns[columnName]
        let rewrites: Bool
        if definition?["raw_default"] != nil {
            rewrites = true
        } else if let column,
            let conversion = facts.typeConversions[TypeChange(sourceOID: column.typeOID, target: target.text)]
        {
            rewrites = !Self.keepsValues(column, conversion, target)
        } else {
            note("ALTER COLUMN \(columnName) TYPE \(target.display): the column's current type is not known")
            rewrites = true
        }
        if rewrites {
            let from = column.map { " from \($0.typeName)" } ?? ""
            rewrite(table, "ALTER COLUMN \(columnName) TYPE \(target.display)\(from) is not binary-coercible")
        } else if column?.indexed == true {
            scan(
                table,
                "ALTER COLUMN \(columnName) TYPE \(target.display) rebuilds the indexes on the column",
                kind: .indexBuild
            )
        }
    }

    /// Whether a type change keeps every stored value as it is (PostgreSQL then skips the rewrite).
    static func keepsValues(_ column: ColumnFacts, _ conversion: TypeConversion, _ target: TypeNameText) -> Bool {
        guard conversion.binaryCoercible else { return false }
        guard conversion.targetOID == column.typeOID else { return target.modifier == -1 }
        if target.modifier == -1 || target.modifier == column.typeModifier { return true }
        guard column.typeModifier != -1 else { return false }
        switch target.baseName {
        case "varchar", "varbit": return target.modifier >= column.typeModifier
        case "numeric":
            let scale = { (modifier: Int) in (modifier - 4) & 0xFFFF }
            return scale(target.modifier) == scale(column.typeModifier) && target.modifier >= column.typeModifier
        case "timestamp", "timestamptz", "time", "timetz", "interval": return target.modifier >= column.typeModifier
        default: return false
        }
    }

    private mutating func setNotNull(_ columnName: String, on table: RelationName) {
        let column = facts.relation(table.key)?.columns[columnName]
        if column?.notNull == true || column?.provenNotNull == true { return }
        scan(table, "SET NOT NULL on \(columnName) checks every row (no valid CHECK (\(columnName) IS NOT NULL))")
        advise(
            "ADD CONSTRAINT … CHECK (\(columnName) IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in another transaction,"
                + " then SET NOT NULL skips the scan"
        )
    }

    private mutating func addConstraint(_ constraint: ParseNode, to table: RelationName) {
        let name = constraint["conname"]?.text.map { " \($0)" } ?? ""
        let notValid = constraint["skip_validation"]?.isTrue == true
        switch constraint["contype"]?.text ?? "" {
        case "CONSTR_FOREIGN":
            if let referenced = constraint["pktable"]?.relationName {
                lock(referenced, .shareRowExclusive, "referenced by the foreign key\(name) of \(table)")
                if !notValid {
                    scan(
                        table,
                        "ADD CONSTRAINT\(name) FOREIGN KEY checks every row against \(referenced)",
                        kind: .foreignKeyCheck
                    )
                    advise("ADD CONSTRAINT\(name) … NOT VALID, then VALIDATE CONSTRAINT in its own transaction")
                }
            }
        case "CONSTR_CHECK":
            if !notValid {
                scan(table, "ADD CONSTRAINT\(name) CHECK checks every row")
                advise("ADD CONSTRAINT\(name) … NOT VALID, then VALIDATE CONSTRAINT in its own transaction")
            }
        case "CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION":
            if constraint["indexname"]?.text == nil {
                scan(table, "ADD CONSTRAINT\(name) builds its index", kind: .indexBuild)
                advise("CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT\(name) … USING INDEX")
            }
        default: break
        }
    }

    private mutating func validateConstraint(_ name: String, on table: RelationName) {
        let constraint = facts.relation(table.key)?.constraints[name]
        if constraint?.type == "f", let referenced = constraint?.referencedTable {
            lock(key: referenced, .rowShare, "referenced by the foreign key \(name) being validated")
        }
        scan(
            table,
            "VALIDATE CONSTRAINT \(name) checks every row (under ShareUpdateExclusiveLock: reads and writes go on)",
            kind: constraint?.type == "f" ? .foreignKeyCheck : .scan
        )
    }

    private mutating func partition(_ command: ParseNode, of parent: RelationName, attaching: Bool) {
        let partitionCommand = command["def"]?["PartitionCmd"]
        guard let partition = partitionCommand?["name"]?.relationName else { return }
        let concurrent = partitionCommand?["concurrent"]?.isTrue == true
        let mode: LockMode = concurrent ? .shareUpdateExclusive : .accessExclusive
        lock(partition, mode, attaching ? "ATTACH PARTITION: the partition" : "DETACH PARTITION: the partition")
        if let defaultPartition = facts.relation(parent.key)?.defaultPartition, !concurrent {
            lock(key: defaultPartition, .accessExclusive, "the default partition is checked against the new bound")
        }
        if attaching {
            scan(partition, "ATTACH PARTITION checks every row against the bound unless a valid CHECK proves it")
        } else if concurrent {
            analysis.refusesTransactionBlock = true
        } else {
            advise("DETACH PARTITION … CONCURRENTLY (outside a transaction block) takes ShareUpdateExclusiveLock")
        }
    }
}
