import SQLParser

/// On the real server, a statement whose execution could run code that is not PostgreSQL's own is not run on the
/// copy: that code could reach beyond the copy's database (end sessions, create roles, write files). Its locks are
/// then static, so preflight never acts on them and the refusal keys count it as not rehearsed.
extension RehearsalStep {
    /// The step for `statement` on a copy holding `userCode`: as ``of(_:isolated:)``, and on the real server (not
    /// `isolated`) skipped when it calls a function or an operator that is not PostgreSQL's own, uses a domain
    /// that calls one, or creates or enables an event trigger.
    package static func of(_ statement: ParsedStatement, isolated: Bool, userCode: RehearsalUserCode) -> RehearsalStep {
        let step = of(statement, isolated: isolated)
        guard !isolated, step == .run || step == .outsideBlock, case .success(let tree) = statement.result,
            let type = tree.type
        else { return step }
        if ["CreateEventTrigStmt", "AlterEventTrigStmt"].contains(type) {
            return .unseenCode(reason: "an event trigger runs its function on every later DDL" + elsewhere)
        }
        var trees = [tree]
        if type == "ExecuteStmt", let query = prepared(tree, userCode) { trees.append(query) }
        for node in trees {
            if let reason = userCodeCalled(in: node, userCode) { return .unseenCode(reason: reason + elsewhere) }
        }
        return step
    }

    /// What the effectful side must look up in the copy before running `statement` on the real server: the
    /// relations it names, when using them could run code. `nil` when nothing needs looking up: DDL on a copy
    /// without rows the script wrote evaluates no default, constraint or index expression, and fires no trigger.
    package static func relationCodeQuery(_ statement: ParsedStatement, userCode: RehearsalUserCode)
        -> RelationCodeQuery?
    {
        guard case .success(let tree) = statement.result, let type = tree.type else { return nil }
        var trees = [tree]
        if type == "ExecuteStmt" {
            guard let query = prepared(tree, userCode) else { return nil }
            trees = [query]
        }
        let events = trees.reduce(0) { $0 | triggerEvents($1) }
        let runsQueries = trees.contains { executesQuery($0.type ?? "") }
        guard runsQueries || events != 0 || userCode.rowsMayExist else { return nil }
        var names: [String] = []
        for node in trees {
            for relation in node.namedRelations {
                let name = [relation.schema, relation.name].compactMap { $0 }.map(quotedIdentifier)
                    .joined(separator: ".")
                if !names.contains(name) { names.append(name) }
            }
        }
        return names.isEmpty ? nil : RelationCodeQuery(names: names, events: events)
    }

    /// The step once the copy said what code using the statement's relations runs: skipped when any.
    package static func skipping(for findings: [RelationCode]) -> RehearsalStep? {
        guard let first = findings.first else { return nil }
        let more = findings.count > 1 ? " and \(findings.count - 1) more" : ""
        return .unseenCode(
            reason: "using \(first.relation) runs code that is not PostgreSQL's own (\(first.what) calls "
                + "\(first.function)()\(more)), which could act beyond the copy" + elsewhere
        )
    }

    static let elsewhere = " on the real server; --rehearse-dsn rehearses it on a server of its own"

    /// Statement types whose execution runs a query over the relations they name (SELECT through a view runs the
    /// view's query, once even with no rows when it is not correlated).
    static func executesQuery(_ type: String) -> Bool {
        [
            "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "TruncateStmt", "CreateTableAsStmt",
            "RefreshMatViewStmt", "ExplainStmt", "DeclareCursorStmt", "CopyStmt",
        ].contains(type)
    }

    /// The trigger events (`pg_trigger.tgtype` bits) the statement's DML can fire, CTEs and rule-free nesting
    /// included: INSERT 4 (with ON CONFLICT DO UPDATE also UPDATE 16), DELETE 8, UPDATE 16, MERGE all three,
    /// TRUNCATE 32.
    static func triggerEvents(_ tree: ParseNode) -> Int {
        let found = tree.descendants(ofTypes: [
            "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "TruncateStmt",
        ])
        var events = 0
        for insert in found["InsertStmt"] ?? [] {
            events |= 4
            if insert["onConflictClause"]?["OnConflictClause"]?["action"]?.text == "ONCONFLICT_UPDATE"
                || insert["onConflictClause"]?["action"]?.text == "ONCONFLICT_UPDATE"
            {
                events |= 16
            }
        }
        if found["UpdateStmt"] != nil { events |= 16 }
        if found["DeleteStmt"] != nil { events |= 8 }
        if found["MergeStmt"] != nil { events |= 4 | 8 | 16 }
        if found["TruncateStmt"] != nil { events |= 32 }
        return events
    }

    /// Why the statement itself calls code that is not PostgreSQL's own, if it does.
    static func userCodeCalled(in tree: ParseNode, _ userCode: RehearsalUserCode) -> String? {
        let found = tree.descendants(ofTypes: ["FuncCall", "A_Expr", "SubLink", "CaseExpr"])
        for call in found["FuncCall"] ?? [] {
            if let name = RehearsalUserCode.lastName(call["funcname"]), userCode.functions.contains(name) {
                return
                    "it calls \(name)(), a function that is not PostgreSQL's own, whose code could act beyond the copy"
            }
        }
        if let name = operatorsUsed(found).first(where: userCode.operators.contains) {
            return "it uses the operator \(name), whose function is not PostgreSQL's own and could act beyond the copy"
        }
        let types = typeNames(in: tree)
        if let name = types.first(where: userCode.domains.contains) {
            return "it uses the domain \(name), whose default or constraint calls a function that is not"
                + " PostgreSQL's own and could act beyond the copy"
        }
        if let name = types.first(where: userCode.castTypes.contains) {
            return "it uses the type \(name), which a cast whose function is not PostgreSQL's own converts, and"
                + " that function could act beyond the copy"
        }
        return nil
    }

    /// The operators the expressions use, by name, those they imply included: `= ANY (SELECT …)` and row comparisons
    /// with a subquery name theirs in the SubLink, `IN (SELECT …)` means `=`; `CASE x WHEN y` compares with `=`; `BETWEEN`
    /// with `<=` and `>=` (`<` and `>` negated).
    static func operatorsUsed(_ found: [String: [ParseNode]]) -> [String] {
        var names: [String] = []
        for expression in found["A_Expr"] ?? [] {
            guard let name = expression["name"]?.elements.last?.text else { continue }
            names += name.uppercased().contains("BETWEEN") ? ["<=", ">=", "<", ">"] : [name]
        }
        for link in found["SubLink"] ?? [] {
            let named = (link["operName"]?.elements ?? []).suffix(1).compactMap(\.text)
            // `IN (SELECT …)` leaves the name out: PostgreSQL's parse analysis reads it as `= ANY`.
            names += named.isEmpty && link["subLinkType"]?.text == "ANY_SUBLINK" ? ["="] : named
        }
        if (found["CaseExpr"] ?? []).contains(where: { $0["arg"] != nil }) { names.append("=") }
        return names
    }

    /// The last names (lowercased) of every type name in the tree: `TypeName` nodes, typed or as a field's plain
    /// object (a column definition's, a cast's).
    static func typeNames(in tree: ParseNode) -> [String] {
        var names: [String] = []
        func collect(_ node: ParseNode) {
            switch node {
            case .object(let fields):
                if fields["names"] != nil, fields["typemod"] != nil || fields["typmods"] != nil,
                    let name = RehearsalUserCode.lastName(fields["names"])
                {
                    names.append(name)
                }
                for field in fields { collect(field.value) }
            case .array(let values):
                for value in values { collect(value) }
            default: break
            }
        }
        collect(tree)
        return names
    }

    private static func prepared(_ tree: ParseNode, _ userCode: RehearsalUserCode) -> ParseNode? {
        guard let name = tree.fields["name"]?.text else { return nil }
        return userCode.prepared[name.lowercased()]
    }

    /// An identifier quoted for `to_regclass`.
    static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }
}
