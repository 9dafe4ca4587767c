import FoundationEssentials

/// A node of libpg_query's JSON parse tree: PostgreSQL's own node, as its JSON output writes it.
///
/// A typed node is an object with one key, its type (`{"AlterTableStmt": {...}}`); its fields are an object
/// whose absent keys are PostgreSQL's defaults (false, 0, an empty list, or the first value of an enum).
///
/// Not `indirect`: the tree recurses through the arrays of ``ParseFields`` and `.array`, which are references
/// already; an indirect enum would put every node, each number and string too, in a heap box of its own (millions
/// of allocations for a long script).
package enum ParseNode: Sendable, Equatable, Decodable {
    case object(ParseFields)
    case array([ParseNode])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    /// The tree of JSON text (libpg_query's), read without a depth limit (``ParseTreeJSON``).
    package init(json: Data) throws {
        self = try ParseTreeJSON.parse(json)
    }

    /// The field `key` of an object; `nil` when absent or when this is not an object.
    package subscript(key: String) -> ParseNode? {
        guard case .object(let fields) = self else { return nil }
        return fields[key]
    }

    /// The node's type and fields, for a typed node (`{"RangeVar": {...}}`).
    package var typed: (type: String, fields: ParseNode)? {
        guard case .object(let fields) = self, fields.count == 1, let (type, value) = fields.first,
            type.first?.isUppercase == true
        else { return nil }
        return (type, value)
    }

    /// The node's type name, for a typed node.
    package var type: String? { typed?.type }

    /// The fields of a typed node, or the node itself when it is not typed.
    package var fields: ParseNode { typed?.fields ?? self }

    /// The text of a string node (also a `{"String": {"sval": ...}}` node).
    package var text: String? {
        switch self {
        case .string(let value): return value
        case .object:
            if let value = self["String"]?["sval"]?.text { return value }
            return nil
        default: return nil
        }
    }

    /// The value of a number node.
    package var integer: Int? {
        if case .number(let value) = self { return Int(value) }
        return nil
    }

    /// The value of a boolean field; an absent field is PostgreSQL's default, false.
    package var isTrue: Bool {
        if case .bool(let value) = self { return value }
        return false
    }

    /// The elements of a list; an absent list is empty.
    package var elements: [ParseNode] {
        if case .array(let values) = self { return values }
        return []
    }

    /// Every typed node below this one (itself included), depth first, in the order of the tree's fields.
    package func descendants(ofType wanted: String) -> [ParseNode] {
        var found: [ParseNode] = []
        collect(wanted, into: &found)
        return found
    }

    /// Every typed node below this one of the `wanted` types, by type, in one walk (depth first, in the order of the
    /// tree's fields).
    package func descendants(ofTypes wanted: Set<String>) -> [String: [ParseNode]] {
        var found: [String: [ParseNode]] = [:]
        // A typed node's type is capitalised: when every wanted type is, a field's name (`relation`, `targetList`)
        // is not hashed.
        let capitalised = wanted.allSatisfy { !Self.startsLowercase($0) }
        collect(wanted, capitalised: capitalised, into: &found)
        return found
    }

    private static func startsLowercase(_ key: String) -> Bool {
        key.utf8.first.map { (0x61...0x7A).contains($0) } ?? false
    }

    private func collect(_ wanted: Set<String>, capitalised: Bool, into found: inout [String: [ParseNode]]) {
        switch self {
        case .object(let fields):
            if fields.count == 1, let (type, value) = fields.first, !(capitalised && Self.startsLowercase(type)),
                wanted.contains(type)
            {
                found[type, default: []].append(value)
            }
            fields.forEachField { _, value in value.collect(wanted, capitalised: capitalised, into: &found) }
        case .array(let values):
            values.withUnsafeBufferPointer { values in
                for index in values.indices { values[index].collect(wanted, capitalised: capitalised, into: &found) }
            }
        default: break
        }
    }

    private func collect(_ wanted: String, into found: inout [ParseNode]) {
        switch self {
        case .object(let fields):
            if fields.count == 1, let (type, value) = fields.first, type == wanted { found.append(value) }
            fields.forEachField { _, value in value.collect(wanted, into: &found) }
        case .array(let values):
            values.withUnsafeBufferPointer { values in
                for index in values.indices { values[index].collect(wanted, into: &found) }
            }
        default: break
        }
    }
}

extension ParseNode {
    /// Decodes any JSON value; a boolean stays a boolean.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ParseNode].self) {
            self = .array(value)
        } else {
            self = .object(
                ParseFields(try container.decode([String: ParseNode].self).map { (key: $0.key, value: $0.value) })
            )
        }
    }
}
