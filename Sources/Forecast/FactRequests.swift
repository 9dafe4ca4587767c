import SQLParser

extension ForecastPlanner {
    /// The column type changes a script asks for, given the relations the catalog knows: what
    /// `forecast_type_conversions.sql` is asked.
    package static func typeChanges(_ statements: [ParsedStatement], relations: [String: RelationFacts]) -> [TypeChange]
    {
        var changes: [TypeChange] = []
        for statement in statements {
            guard case .success(let tree) = statement.result, let alter = tree["AlterTableStmt"],
                let table = alter["relation"]?.relationName, let facts = relations[table.key]
            else { continue }
            for command in (alter["cmds"]?.elements ?? []).compactMap({ $0["AlterTableCmd"] })
            where command["subtype"]?.text == "AT_AlterColumnType" {
                guard let column = facts.columns[command["name"]?.text ?? ""],
                    let target = command["def"]?["ColumnDef"]?["typeName"].flatMap(TypeNameText.init)
                else { continue }
                let change = TypeChange(sourceOID: column.typeOID, target: target.text)
                if !changes.contains(change) { changes.append(change) }
            }
        }
        return changes
    }

    /// The functions that column defaults of `ADD COLUMN` call: what `forecast_function_volatility.sql` is asked.
    package static func defaultFunctions(_ statements: [ParsedStatement]) -> [String] {
        var names: [String] = []
        for statement in statements {
            guard case .success(let tree) = statement.result, tree.type == "AlterTableStmt" else { continue }
            for call in tree.descendants(ofType: "ColumnDef").flatMap({ $0.descendants(ofType: "FuncCall") }) {
                if let name = call["funcname"]?.nameParts.last, !names.contains(name) { names.append(name) }
            }
        }
        return names
    }

    /// Relation keys that the facts mention (children, referenced tables, a view's sources, an index's table)
    /// but that were not read yet.
    package static func mentionedByFacts(_ relations: [String: RelationFacts]) -> [String] {
        var keys: [String] = []
        for facts in relations.values {
            let mentioned =
                facts.descendants + facts.viewSources + facts.referencedBy.map(\.table)
                + facts.constraints.values.compactMap(\.referencedTable)
                + [facts.indexTable, facts.defaultPartition].compactMap { $0 }
            for key in mentioned where relations[key] == nil && !keys.contains(key) { keys.append(key) }
        }
        return keys.sorted()
    }
}
