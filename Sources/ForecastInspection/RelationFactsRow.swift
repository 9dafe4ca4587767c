import Forecast

/// One row of `forecast_relations.sql`, as its JSON writes it.
struct RelationFactsRow: Decodable {
    struct Column: Decodable {
        let type_oid: UInt32
        let type_name: String
        let typmod: Int
        let not_null: Bool
        let proven_not_null: Bool
        let indexed: Bool
    }

    struct Constraint: Decodable {
        let type: String
        let validated: Bool
        let referenced: String?
        let columns: [String]?
    }

    struct ReferencingKey: Decodable {
        let table: String?
        let on_delete: String
        let on_update: String
        let referenced_columns: [String]?
    }

    let oid: UInt32
    let key: String
    let qualified_name: String
    let kind: String
    let bytes: Int64
    let rows: Int64
    let table_bytes: Int64?
    let index_count: Int?
    let text_index_count: Int?
    let descendants: [String]?
    let columns: [String: Column]?
    let constraints: [String: Constraint]?
    let referenced_by: [ReferencingKey]?
    let view_sources: [String]?
    let index_table: String?
    let default_partition: String?

    var relation: RelationFacts {
        var facts = RelationFacts(
            oid: oid,
            qualifiedName: qualified_name,
            kind: kind.first ?? "r",
            bytes: bytes,
            rows: rows
        )
        facts.tableBytes = table_bytes ?? bytes
        facts.indexCount = index_count ?? 0
        facts.textIndexCount = text_index_count ?? 0
        facts.descendants = descendants ?? []
        facts.columns = (columns ?? [:]).mapValues { column in
            ColumnFacts(
                typeOID: column.type_oid,
                typeName: column.type_name,
                typeModifier: column.typmod,
                notNull: column.not_null,
                provenNotNull: column.proven_not_null,
                indexed: column.indexed
            )
        }
        facts.constraints = (constraints ?? [:]).mapValues { constraint in
            ConstraintFacts(
                type: constraint.type.first ?? "?",
                validated: constraint.validated,
                referencedTable: constraint.referenced,
                columns: constraint.columns ?? []
            )
        }
        facts.referencedBy = (referenced_by ?? []).compactMap { key in
            key.table.map {
                ForeignKeyFacts(
                    table: $0,
                    onDelete: key.on_delete.first ?? "a",
                    onUpdate: key.on_update.first ?? "a",
                    referencedColumns: key.referenced_columns ?? []
                )
            }
        }
        facts.viewSources = view_sources ?? []
        facts.indexTable = index_table
        facts.defaultPartition = default_partition
        return facts
    }
}
