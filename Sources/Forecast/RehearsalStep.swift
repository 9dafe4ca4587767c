import SQLParser

/// How the rehearsal runs one statement of the script: pure, from its parse tree.
package enum RehearsalStep: Sendable, Equatable {
    /// Runs it as written, reading the locks it adds (inside a savepoint in the script's transaction, or in a
    /// transaction of its own that commits).
    case run
    /// A transaction control statement, run as `sql` (PREPARE TRANSACTION commits on the copy); `opens` tells whether
    /// the session is in a transaction block after it.
    case control(sql: String, opens: Bool)
    /// Runs it outside a transaction block (it refuses one): it changes the copy, its locks are static.
    case outsideBlock
    /// Not run on the copy, saying why; its locks are static.
    case skip(reason: String)
    /// Not run on the copy on the real server because it would run code that is not PostgreSQL's own, which could
    /// act beyond the copy, saying why: its locks are static, and what that code locks is not forecast.
    case unseenCode(reason: String)

    /// Statements that act beyond the copy's database on the same server: never run there.
    static let clusterWide: [String: String] = [
        "CreateRoleStmt": "it changes roles", "AlterRoleStmt": "it changes roles",
        "AlterRoleSetStmt": "it changes roles",
        "DropRoleStmt": "it changes roles", "GrantRoleStmt": "it changes roles",
        "CreatedbStmt": "it creates a database",
        "DropdbStmt": "it drops a database", "AlterDatabaseStmt": "it changes a database",
        "AlterDatabaseSetStmt": "it changes a database", "AlterDatabaseRefreshCollStmt": "it changes a database",
        "CreateTableSpaceStmt": "it changes tablespaces", "DropTableSpaceStmt": "it changes tablespaces",
        "AlterTableSpaceOptionsStmt": "it changes tablespaces", "AlterSystemStmt": "it changes the server's settings",
        "CreateSubscriptionStmt": "it connects to another server",
        "AlterSubscriptionStmt": "it connects to another server",
        "DropSubscriptionStmt": "it connects to another server", "LoadStmt": "it loads a library into the server",
        "CheckPointStmt": "it checkpoints the whole server",
        "ImportForeignSchemaStmt": "it connects to another server",
    ]

    /// Functions whose effects reach beyond the copy's database.
    static let clusterWideFunctions: Set<String> = [
        "pg_terminate_backend", "pg_cancel_backend", "pg_signal_backend", "pg_reload_conf", "pg_rotate_logfile",
        "pg_log_backend_memory_contexts", "pg_promote", "pg_switch_wal", "pg_create_restore_point",
        "pg_create_physical_replication_slot", "pg_create_logical_replication_slot", "pg_drop_replication_slot",
        "pg_file_write", "pg_file_rename", "pg_file_unlink", "lo_export", "lo_import", "dblink", "dblink_exec",
        "dblink_connect", "dblink_send_query", "pg_stat_reset_shared", "pg_replication_origin_create",
        "pg_stat_reset_slru", "pg_stat_reset_replication_slot", "pg_stat_reset_subscription_stats",
        "pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup", "pg_wal_replay_pause",
        "pg_wal_replay_resume", "pg_replication_origin_drop", "pg_replication_origin_session_setup",
    ]

    /// The step for `statement`; `isolated` is true when the copy is on a server of its own (`--rehearse-dsn`),
    /// where code the forecast cannot read (`DO`, `CALL`) may run.
    package static func of(_ statement: ParsedStatement, isolated: Bool) -> RehearsalStep {
        guard case .success(let tree) = statement.result, let (type, node) = tree.typed else {
            return .skip(reason: "PostgreSQL \(SQLParser.grammarMajorVersion)'s parser rejects it")
        }
        if type == "TransactionStmt" { return control(node, sql: statement.sql) }
        if !isolated, let reason = clusterWide[type] ?? sharedObjectChange(type, node) {
            return .skip(reason: reason + elsewhere)
        }
        if !isolated, let reason = reachesSharedCatalogs(type, node, tree) { return .skip(reason: reason + elsewhere) }
        if type == "CopyStmt" { return .skip(reason: "COPY moves data the rehearsal does not have") }
        if !isolated, ["DoStmt", "CallStmt"].contains(type) {
            return .skip(reason: "it runs code that could act beyond the copy; --rehearse-dsn rehearses it elsewhere")
        }
        let calls = tree.descendants(ofType: "FuncCall").compactMap { call in
            call["funcname"]?.elements.last?.text?.lowercased()
        }
        if let call = calls.first(where: clusterWideFunctions.contains) {
            return .skip(reason: "it calls \(call)(), whose effect reaches beyond the copy")
        }
        if refusesTransactionBlock(type, node) { return .outsideBlock }
        return .run
    }

    /// Why a statement would lock or rewrite what the copy shares with every database of the server, if it would:
    /// a system catalog it names (the roles, databases and tablespaces live in catalogs every database shares; only
    /// a plain SELECT, which takes AccessShareLock, may read them), or maintenance of the whole database, which
    /// takes the shared catalogs in.
    static func reachesSharedCatalogs(_ type: String, _ node: ParseNode, _ tree: ParseNode) -> String? {
        switch type {
        case "VacuumStmt" where (node["rels"]?.elements ?? []).isEmpty:
            return "it works through every table of the database, the catalogs every database shares among them"
        case "ClusterStmt" where node["relation"] == nil:
            return "it reorders every clustered table of the database, shared catalogs among them"
        case "ReindexStmt"
        where ["REINDEX_OBJECT_SYSTEM", "REINDEX_OBJECT_DATABASE"].contains(node["kind"]?.text ?? ""):
            return "it rebuilds the indexes of the system catalogs, which every database shares"
        default: break
        }
        let plainRead =
            type == "SelectStmt" && tree.descendants(ofType: "LockingClause").isEmpty
            && node["intoClause"] == nil
        guard !plainRead,
            let catalog = tree.namedRelations.first(where: { relation in
                relation.schema.map { ["pg_catalog", "pg_toast"].contains($0.lowercased()) }
                    ?? relation.name.lowercased().hasPrefix("pg_")
            })
        else { return nil }
        return "it names the system relation \(catalog.name), and the roles, databases and tablespaces live in"
            + " catalogs every database shares"
    }

    /// Object types that live in the cluster's shared catalogs: a change to one is seen by every database.
    static let sharedObjectTypes: Set<String> = [
        "OBJECT_DATABASE", "OBJECT_TABLESPACE", "OBJECT_ROLE", "OBJECT_PARAMETER_ACL", "OBJECT_SUBSCRIPTION",
    ]

    /// Why a statement of an otherwise per-database kind changes shared objects, if it does: GRANT or REVOKE on a
    /// database, a tablespace or a parameter, a rename or an owner change of a database, a role or a tablespace,
    /// a comment or a security label on one; REASSIGN OWNED and DROP OWNED reach shared objects always.
    static func sharedObjectChange(_ type: String, _ node: ParseNode) -> String? {
        let field: String
        switch type {
        case "ReassignOwnedStmt", "DropOwnedStmt": return "it changes objects of every database"
        case "GrantStmt", "CommentStmt", "SecLabelStmt": field = "objtype"
        case "AlterOwnerStmt": field = "objectType"
        case "RenameStmt": field = "renameType"
        default: return nil
        }
        guard let objectType = node[field]?.text, sharedObjectTypes.contains(objectType) else { return nil }
        return "it changes a shared object (\(objectType.dropFirst("OBJECT_".count).lowercased()))"
    }

    private static func control(_ node: ParseNode, sql: String) -> RehearsalStep {
        let chain = node["chain"]?.isTrue == true
        switch node["kind"]?.text ?? "" {
        case "TRANS_STMT_BEGIN", "TRANS_STMT_START": return .control(sql: sql, opens: true)
        case "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK": return .control(sql: sql, opens: chain)
        case "TRANS_STMT_PREPARE": return .control(sql: "COMMIT", opens: false)
        case "TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED":
            return .skip(reason: "the rehearsal committed the prepared transaction at its PREPARE TRANSACTION")
        default: return .control(sql: sql, opens: true)  // SAVEPOINT, RELEASE, ROLLBACK TO: inside a block
        }
    }

    /// CONCURRENTLY, VACUUM, and the other statements PostgreSQL refuses inside a transaction block.
    private static func refusesTransactionBlock(_ type: String, _ node: ParseNode) -> Bool {
        switch type {
        case "VacuumStmt": return node["is_vacuumcmd"]?.isTrue == true
        case "IndexStmt": return node["concurrent"]?.isTrue == true
        case "DropStmt": return node["concurrent"]?.isTrue == true
        case "ReindexStmt":
            return (node["params"]?.elements ?? []).contains { $0["DefElem"]?["defname"]?.text == "concurrently" }
                || ["REINDEX_OBJECT_SYSTEM", "REINDEX_OBJECT_DATABASE"].contains(node["kind"]?.text ?? "")
        case "AlterTableStmt":
            return (node["cmds"]?.elements ?? []).contains { command in
                command["AlterTableCmd"]?["def"]?["PartitionCmd"]?["concurrent"]?.isTrue == true
            }
        case "AlterSystemStmt", "CreatedbStmt", "DropdbStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt":
            return true
        default: return false
        }
    }
}
