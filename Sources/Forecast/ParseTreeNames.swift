import SQLParser

/// A relation as a statement names it: `orders`, `public.orders`, `ONLY orders`.
package struct RelationName: Sendable, Hashable, CustomStringConvertible {
    /// The schema, when the statement names one.
    package var schema: String?
    /// The relation's name.
    package var name: String
    /// Whether the statement includes children (`ONLY` makes this false).
    package var includesChildren: Bool

    package init(schema: String?, name: String, includesChildren: Bool = true) {
        self.schema = schema
        self.name = name
        self.includesChildren = includesChildren
    }

    /// The name from a `RangeVar` node's fields.
    package init?(rangeVar fields: ParseNode) {
        guard let name = fields["relname"]?.text else { return nil }
        self.init(schema: fields["schemaname"]?.text, name: name, includesChildren: fields["inh"]?.isTrue ?? false)
    }

    /// The name from a list of name parts (`["public", "orders"]`), as `DROP` and `COMMENT` give it.
    package init?(parts: [String]) {
        guard let name = parts.last, !parts.isEmpty, parts.count <= 3 else { return nil }
        self.init(schema: parts.count >= 2 ? parts[parts.count - 2] : nil, name: name)
    }

    /// The key that the catalog facts are read by: each part double-quoted, as `to_regclass` reads it.
    package var key: String {
        // Concatenated, not joined from arrays: every statement's relations are keyed, twice.
        guard let schema else { return Self.quoted(name) }
        return Self.quoted(schema) + "." + Self.quoted(name)
    }

    /// The name as written, for an operator.
    package var description: String { schema.map { $0 + "." + name } ?? name }

    private static func quoted(_ part: String) -> String {
        // Most names have no double quote: a search is the forecast's hot spot on big files.
        guard part.utf8.contains(UInt8(ascii: "\"")) else { return "\"" + part + "\"" }
        return "\"" + part.replacing("\"", with: "\"\"") + "\""
    }
}

extension ParseNode {
    /// The strings of a list of `String` nodes (`["public", "orders"]`).
    var nameParts: [String] { elements.compactMap(\.text) }

    /// The relation of a `RangeVar`, typed (`{"RangeVar": …}`) or as a field's plain object.
    var relationName: RelationName? {
        if let typed, typed.type == "RangeVar" { return RelationName(rangeVar: typed.fields) }
        return RelationName(rangeVar: self)
    }

    /// Every relation a subtree names (`RangeVar` nodes, typed or as a field's plain object), in the order of
    /// the tree's fields.
    var namedRelations: [RelationName] {
        var names: [RelationName] = []
        collectRelations(into: &names)
        return names
    }

    private func collectRelations(into names: inout [RelationName]) {
        switch self {
        case .object(let fields):
            if fields.contains(key: "relname"), let name = RelationName(rangeVar: self), !names.contains(name) {
                names.append(name)
            }
            fields.forEachField { _, value in value.collectRelations(into: &names) }
        case .array(let values):
            values.withUnsafeBufferPointer { values in
                for index in values.indices { values[index].collectRelations(into: &names) }
            }
        default: break
        }
    }
}

/// A type name as a statement writes it, such as `pg_catalog.varchar(20)`, and the modifier it implies.
struct TypeNameText {
    /// As `to_regtype` reads it, such as `pg_catalog.int8`.
    let text: String
    /// For an operator, such as `int8` (PostgreSQL's own `pg_catalog` prefix dropped).
    var display: String { text.hasPrefix("pg_catalog.") ? String(text.dropFirst(11)) : text }
    let modifier: Int
    let baseName: String

    init?(_ typeName: ParseNode) {
        let names = typeName["names"]?.nameParts ?? []
        guard let base = names.last else { return nil }
        let modifiers = (typeName["typmods"]?.elements ?? []).compactMap { node -> Int? in
            guard let constant = node["A_Const"] else { return nil }
            return constant["ival"]?["ival"]?.integer ?? 0
        }
        let arrayBounds = typeName["arrayBounds"]?.elements.isEmpty == false ? "[]" : ""
        let suffix = modifiers.isEmpty ? "" : "(" + modifiers.map(String.init).joined(separator: ",") + ")"
        text = names.joined(separator: ".") + suffix + arrayBounds
        baseName = base
        modifier = Self.modifier(of: base, modifiers)
    }

    /// `atttypmod` for the common parameterised types; -1 when unconstrained or unknown.
    private static func modifier(of base: String, _ values: [Int]) -> Int {
        guard let first = values.first else { return -1 }
        switch base {
        case "varchar", "bpchar", "varbit", "bit": return first + 4
        case "numeric": return ((first << 16) | (values.count > 1 ? values[1] : 0)) + 4
        case "timestamp", "timestamptz", "time", "timetz", "interval": return first
        default: return -1
        }
    }
}
