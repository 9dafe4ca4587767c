import SQLParser

/// The lock level of each `ALTER TABLE` subcommand, as PostgreSQL 15's `AlterTableGetLockLevel`
/// (src/backend/commands/tablecmds.c) decides it; the statement takes the strongest of its subcommands.
enum AlterTableLockLevel {
    /// The mode of one `AlterTableCmd`; `nil` for a subcommand the forecast does not know.
    static func mode(of command: ParseNode) -> LockMode? {
        guard let subtype = command["subtype"]?.text else { return nil }
        if let mode = fixed[subtype] { return mode }
        switch subtype {
        case "AT_AddConstraint", "AT_AddConstraintRecurse", "AT_ReAddConstraint":
            // Foreign keys add triggers to both tables: as strong as CREATE TRIGGER. Every other constraint,
            // even NOT VALID, takes AccessExclusiveLock.
            return command["def"]?["Constraint"]?["contype"]?.text == "CONSTR_FOREIGN"
                ? .shareRowExclusive : .accessExclusive
        case "AT_SetRelOptions", "AT_ResetRelOptions":
            return relationOptionsMode(command["def"])
        case "AT_DetachPartition":
            return command["def"]?["PartitionCmd"]?["concurrent"]?.isTrue == true
                ? .shareUpdateExclusive : .accessExclusive
        default:
            return nil
        }
    }

    private static let fixed: [String: LockMode] = {
        var modes: [String: LockMode] = [:]
        for name in [
            // may rewrite, or are visible to SELECT
            "AT_AddColumn", "AT_AddColumnRecurse", "AT_SetTableSpace", "AT_AlterColumnType", "AT_SetAccessMethod",
            "AT_SetStorage", "AT_DropConstraint", "AT_DropConstraintRecurse", "AT_DropNotNull", "AT_DropColumn",
            "AT_DropColumnRecurse", "AT_AddColumnToView", "AT_DropOids", "AT_EnableAlwaysRule", "AT_EnableReplicaRule",
            "AT_EnableRule", "AT_DisableRule", "AT_ChangeOwner", "AT_GenericOptions", "AT_AlterColumnGenericOptions",
            // affect writes only, but kept at AccessExclusiveLock by PostgreSQL
            "AT_ColumnDefault", "AT_CookedColumnDefault", "AT_AlterConstraint", "AT_AddIndex", "AT_AddIndexConstraint",
            "AT_ReplicaIdentity", "AT_SetNotNull", "AT_EnableRowSecurity", "AT_DisableRowSecurity",
            "AT_ForceRowSecurity", "AT_NoForceRowSecurity", "AT_AddIdentity", "AT_DropIdentity", "AT_SetIdentity",
            "AT_DropExpression", "AT_SetCompression", "AT_AddInherit", "AT_DropInherit", "AT_AddOf", "AT_DropOf",
            "AT_ReplaceRelOptions", "AT_SetLogged", "AT_SetUnLogged",
            // PostgreSQL's own, never written in SQL (re-adding what a type change rebuilds)
            "AT_ReAddIndex", "AT_ReAddDomainConstraint", "AT_ReAddComment", "AT_ReAddStatistics",
        ] {
            modes[name] = .accessExclusive
        }
        for name in [
            "AT_EnableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig", "AT_EnableTrigAll", "AT_EnableTrigUser",
            "AT_DisableTrig", "AT_DisableTrigAll", "AT_DisableTrigUser",
        ] {
            modes[name] = .shareRowExclusive
        }
        for name in [
            "AT_SetStatistics", "AT_ClusterOn", "AT_DropCluster", "AT_SetOptions", "AT_ResetOptions",
            "AT_ValidateConstraint", "AT_ValidateConstraintRecurse", "AT_AttachPartition",
            "AT_DetachPartitionFinalize",
        ] {
            modes[name] = .shareUpdateExclusive
        }
        modes["AT_CheckNotNull"] = .accessShare
        return modes
    }()

    /// Storage parameters that PostgreSQL changes under ShareUpdateExclusiveLock (`reloptions.c`); any other
    /// (a view's `security_barrier`, `user_catalog_table`, an unknown one) takes AccessExclusiveLock.
    private static let lightOptions: Set<String> = [
        "fillfactor", "autovacuum_enabled", "autovacuum_vacuum_threshold", "autovacuum_vacuum_insert_threshold",
        "autovacuum_analyze_threshold", "autovacuum_vacuum_cost_delay", "autovacuum_vacuum_cost_limit",
        "autovacuum_freeze_min_age", "autovacuum_freeze_max_age", "autovacuum_freeze_table_age",
        "autovacuum_multixact_freeze_min_age", "autovacuum_multixact_freeze_max_age",
        "autovacuum_multixact_freeze_table_age", "log_autovacuum_min_duration", "autovacuum_vacuum_scale_factor",
        "autovacuum_vacuum_insert_scale_factor", "autovacuum_analyze_scale_factor", "toast_tuple_target",
        "parallel_workers", "vacuum_index_cleanup", "vacuum_truncate", "n_distinct", "n_distinct_inherited",
        "deduplicate_items", "buffering", "fastupdate", "gin_pending_list_limit", "pages_per_range", "autosummarize",
    ]

    private static func relationOptionsMode(_ definition: ParseNode?) -> LockMode {
        let options = definition?["List"]?["items"]?.elements ?? definition?.elements ?? []
        return options.map { option -> LockMode in
            guard let name = option["DefElem"]?["defname"]?.text else { return .accessExclusive }
            return lightOptions.contains(name) ? .shareUpdateExclusive : .accessExclusive
        }.max() ?? .accessExclusive
    }

    /// Subcommands that PostgreSQL applies to the partitions and inheritance children too (unless `ONLY`).
    static let recursing: Set<String> = [
        "AT_AddColumn", "AT_AddColumnRecurse", "AT_DropColumn", "AT_DropColumnRecurse", "AT_AlterColumnType",
        "AT_ColumnDefault", "AT_SetNotNull", "AT_DropNotNull", "AT_SetStatistics", "AT_SetStorage",
        "AT_SetCompression", "AT_AddConstraint", "AT_AddConstraintRecurse", "AT_DropConstraint",
        "AT_DropConstraintRecurse", "AT_ValidateConstraint", "AT_ValidateConstraintRecurse", "AT_DropExpression",
        "AT_CheckNotNull", "AT_SetOptions", "AT_ResetOptions", "AT_EnableTrig", "AT_EnableAlwaysTrig",
        "AT_EnableReplicaTrig", "AT_EnableTrigAll", "AT_EnableTrigUser", "AT_DisableTrig", "AT_DisableTrigAll",
        "AT_DisableTrigUser",
    ]

    /// `ADD COLUMN`, `ALTER COLUMN … TYPE`, … for an operator.
    static func label(of command: ParseNode) -> String {
        let subtype = command["subtype"]?.text ?? "?"
        let words = subtype.dropFirst(3).reduce(into: "") { text, character in
            if character.isUppercase, !text.isEmpty { text += " " }
            text += character.uppercased()
        }
        return words.isEmpty ? subtype : words
    }
}
