import SQLParser

/// The locks, rewrites and scans of one statement: a pure function of its parse tree and the catalog facts.
package struct StatementAnalyzer: Sendable {
    /// What the catalog said.
    package let facts: CatalogFacts

    package init(facts: CatalogFacts) {
        self.facts = facts
    }

    /// Statements that take no lock on a table or view of their own.
    static let withoutRelationLocks: Set<String> = [
        "VariableSetStmt", "VariableShowStmt", "CreateFunctionStmt", "CreateSchemaStmt", "DefineStmt",
        "CompositeTypeStmt", "CreateEnumStmt", "AlterEnumStmt", "CreateExtensionStmt", "GrantStmt",
        "GrantRoleStmt", "CreateRoleStmt", "AlterRoleStmt", "CreateDomainStmt", "CreateSeqStmt", "AlterSeqStmt",
        "AlterFunctionStmt", "AlterOwnerStmt", "CreateCastStmt", "AlterDefaultPrivilegesStmt", "CheckPointStmt",
        "DiscardStmt", "NotifyStmt", "ListenStmt", "UnlistenStmt", "PrepareStmt", "DeallocateStmt",
        "ConstraintsSetStmt", "CreateRangeStmt", "AlterDomainStmt", "CreateConversionStmt", "AlterTSDictionaryStmt",
        "AlterTSConfigurationStmt", "CreateOpClassStmt", "CreateOpFamilyStmt",
    ]

    /// Analyses one statement; `createdEarlier` holds the keys of relations the script created before it.
    package func analyse(_ tree: ParseNode, createdEarlier: Set<String> = []) -> StatementAnalysis {
        guard let (type, statement) = tree.typed else {
            var analysis = StatementAnalysis(kind: "?")
            analysis.notForecast = "the parser returned no statement"
            return analysis
        }
        var collector = LockCollector(kind: type, facts: facts, createdEarlier: createdEarlier)
        collector.dispatch(type, statement)
        return collector.analysis
    }
}

extension LockCollector {
    mutating func dispatch(_ type: String, _ statement: ParseNode) {
        switch type {
        case "TransactionStmt": transaction(statement)
        case "AlterTableStmt": alterTable(statement)
        case "IndexStmt": createIndex(statement)
        case "DropStmt": drop(statement)
        case "TruncateStmt": truncate(statement)
        case "RefreshMatViewStmt": refreshMaterializedView(statement)
        case "VacuumStmt": vacuum(statement)
        case "ClusterStmt": cluster(statement)
        case "ReindexStmt": reindex(statement)
        case "LockStmt": lockTable(statement)
        case "CreateStmt": createTable(statement)
        case "CreateTrigStmt": createTrigger(statement)
        case "ViewStmt":
            createFromQuery(
                statement,
                target: statement["view"]?.relationName,
                replace: statement["replace"]?.isTrue == true,
                kind: "VIEW"
            )
        case "CreateTableAsStmt":
            let materialized = statement["objtype"]?.text == "OBJECT_MATVIEW"
            createFromQuery(
                statement,
                target: statement["into"]?["rel"]?.relationName,
                replace: false,
                kind: materialized ? "MATERIALIZED VIEW" : "TABLE AS"
            )
        case "CommentStmt": comment(statement)
        case "RenameStmt": rename(statement)
        case "AlterObjectSchemaStmt": setSchema(statement)
        case "CreatePolicyStmt", "AlterPolicyStmt": tableObject(statement, mode: .accessExclusive, label: "POLICY")
        case "RuleStmt": tableObject(statement, mode: .accessExclusive, label: "CREATE RULE")
        case "CreateStatsStmt": tableObject(statement, mode: .shareUpdateExclusive, label: "CREATE STATISTICS")
        case "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt":
            dataStatement(.object([type: statement]), type: type)
        case "CopyStmt": copy(statement)
        case "DoStmt", "CallStmt", "ExecuteStmt":
            analysis.notForecast = "\(type.dropLast(4).uppercased()) runs code whose statements the forecast cannot see"
        case _ where StatementAnalyzer.withoutRelationLocks.contains(type):
            break
        default:
            analysis.notForecast = "no lock rule for \(type)"
        }
    }

    private mutating func transaction(_ statement: ParseNode) {
        switch statement["kind"]?.text ?? "" {
        case "TRANS_STMT_BEGIN", "TRANS_STMT_START": analysis.transactionControl = .begin
        case "TRANS_STMT_COMMIT": analysis.transactionControl = .commit
        case "TRANS_STMT_ROLLBACK": analysis.transactionControl = .rollback
        case "TRANS_STMT_PREPARE": analysis.transactionControl = .prepare
        case "TRANS_STMT_SAVEPOINT": analysis.transactionControl = .savepoint(savepointName(statement))
        case "TRANS_STMT_RELEASE": analysis.transactionControl = .release(savepointName(statement))
        case "TRANS_STMT_ROLLBACK_TO": analysis.transactionControl = .rollbackTo(savepointName(statement))
        default: break
        }
        analysis.chains = statement["chain"]?.isTrue == true
    }

    /// The savepoint's name: `savepoint_name` (PostgreSQL 15's tree), or the `savepoint_name` option before it.
    private func savepointName(_ statement: ParseNode) -> String {
        if let name = statement["savepoint_name"]?.text { return name }
        let options = (statement["options"]?.elements ?? []).compactMap { $0["DefElem"] }
        return options.first { $0["defname"]?.text == "savepoint_name" }?["arg"]?.text ?? ""
    }

    private mutating func copy(_ statement: ParseNode) {
        guard let table = statement["relation"]?.relationName else {
            if let query = statement["query"] { dataStatement(query, type: query.type ?? "SelectStmt") }
            return
        }
        let from = statement["is_from"]?.isTrue == true
        lock(table, from ? .rowExclusive : .accessShare, from ? "COPY FROM" : "COPY TO")
    }
}
