/// What the forecast needs to know of one relation that exists, read from the catalog in preflight.
package struct RelationFacts: Sendable, Equatable {
    /// `pg_class.oid`.
    package var oid: UInt32
    /// `schema.name`, as `regclass` shows it qualified.
    package var qualifiedName: String
    /// `pg_class.relkind`: `r` table, `p` partitioned table, `v` view, `m` materialized view, `i`/`I` index,
    /// `S` sequence, `f` foreign table.
    package var kind: Character
    /// `pg_total_relation_size`.
    package var bytes: Int64
    /// `pg_class.reltuples` (-1 when never analysed).
    package var rows: Int64
    /// The heap and TOAST table, without indexes (partitions summed): what a rewrite writes and a scan reads.
    package var tableBytes: Int64
    /// Its indexes (of every partition, counted once per partitioned index): what a rewrite rebuilds.
    package var indexCount = 0
    /// Of those, the indexes on a collatable column (text, varchar): slower to sort than a number.
    package var textIndexCount = 0
    /// Every partition and inheritance child, at any depth.
    package var descendants: [String] = []
    /// Columns by name.
    package var columns: [String: ColumnFacts] = [:]
    /// Constraints by name.
    package var constraints: [String: ConstraintFacts] = [:]
    /// Foreign keys of other tables that reference this one.
    package var referencedBy: [ForeignKeyFacts] = []
    /// The relations a view or materialized view reads.
    package var viewSources: [String] = []
    /// For an index: its table.
    package var indexTable: String?
    /// For a partitioned table: its default partition.
    package var defaultPartition: String?

    package init(oid: UInt32, qualifiedName: String, kind: Character, bytes: Int64, rows: Int64) {
        self.oid = oid
        self.qualifiedName = qualifiedName
        self.kind = kind
        self.bytes = bytes
        self.rows = rows
        self.tableBytes = bytes
    }

    /// Whether rows live in it: a table, partitioned table, materialized view or foreign table.
    package var isPartitioned: Bool { kind == "p" }
}

/// A column of a relation.
package struct ColumnFacts: Sendable, Equatable {
    /// `pg_type.oid` of its type.
    package var typeOID: UInt32
    /// `format_type` of its type, such as `character varying(20)`.
    package var typeName: String
    /// `atttypmod`.
    package var typeModifier: Int
    /// `attnotnull`.
    package var notNull: Bool
    /// A valid `CHECK (column IS NOT NULL)` exists, so `SET NOT NULL` skips its scan.
    package var provenNotNull: Bool
    /// An index covers the column: a type change rebuilds it.
    package var indexed: Bool

    package init(
        typeOID: UInt32,
        typeName: String,
        typeModifier: Int,
        notNull: Bool,
        provenNotNull: Bool,
        indexed: Bool
    ) {
        self.typeOID = typeOID
        self.typeName = typeName
        self.typeModifier = typeModifier
        self.notNull = notNull
        self.provenNotNull = provenNotNull
        self.indexed = indexed
    }
}

/// A constraint of a relation.
package struct ConstraintFacts: Sendable, Equatable {
    /// `pg_constraint.contype`: `c` check, `f` foreign key, `p`, `u`, `x`.
    package var type: Character
    /// `convalidated`.
    package var validated: Bool
    /// For a foreign key: the table it references (by key).
    package var referencedTable: String?
    /// The constrained columns.
    package var columns: [String]

    package init(type: Character, validated: Bool, referencedTable: String?, columns: [String] = []) {
        self.type = type
        self.validated = validated
        self.referencedTable = referencedTable
        self.columns = columns
    }
}

/// A foreign key, seen from the table it references.
package struct ForeignKeyFacts: Sendable, Equatable {
    /// The referencing table.
    package var table: String
    /// `confdeltype`: `a` no action, `r` restrict, `c` cascade, `n` set null, `d` set default.
    package var onDelete: Character
    /// `confupdtype`.
    package var onUpdate: Character
    /// The referenced columns (of the table it references).
    package var referencedColumns: [String]

    package init(table: String, onDelete: Character, onUpdate: Character, referencedColumns: [String] = []) {
        self.table = table
        self.onDelete = onDelete
        self.onUpdate = onUpdate
        self.referencedColumns = referencedColumns
    }
}

/// Everything the catalog said, by the name a statement gives a relation.
package struct CatalogFacts: Sendable, Equatable {
    /// Relations by lookup key (``RelationName/key``), and by qualified name.
    package var relations: [String: RelationFacts]
    /// Functions (by name, unqualified) whose every variant is at most stable: a default calling only these
    /// does not rewrite the table.
    package var nonVolatileFunctions: Set<String>
    /// What the server said of each column type change a statement asks for.
    package var typeConversions: [TypeChange: TypeConversion]
    /// `server_version_num` of the server the facts came from; 0 when no server was asked.
    package var serverVersion: Int

    package init(
        relations: [String: RelationFacts] = [:],
        nonVolatileFunctions: Set<String> = [],
        typeConversions: [TypeChange: TypeConversion] = [:],
        serverVersion: Int = 0
    ) {
        self.relations = relations
        self.nonVolatileFunctions = nonVolatileFunctions
        self.typeConversions = typeConversions
        self.serverVersion = serverVersion
    }

    /// The facts of a relation named as a statement names it, or by its qualified name.
    package func relation(_ key: String) -> RelationFacts? { relations[key] }
}

/// A column type change: from the column's current type to a type named in a statement.
package struct TypeChange: Sendable, Hashable {
    /// The column's current type.
    package var sourceOID: UInt32
    /// The new type's name as the statement gives it (``TypeNameText``).
    package var target: String

    package init(sourceOID: UInt32, target: String) {
        self.sourceOID = sourceOID
        self.target = target
    }
}

/// The server's answer for a ``TypeChange``: the target type, and whether the values convert without being touched.
package struct TypeConversion: Sendable, Equatable {
    /// The target type's oid.
    package var targetOID: UInt32
    /// The same type, or a binary-coercible cast (`pg_cast.castmethod = 'b'`).
    package var binaryCoercible: Bool

    package init(targetOID: UInt32, binaryCoercible: Bool) {
        self.targetOID = targetOID
        self.binaryCoercible = binaryCoercible
    }
}
