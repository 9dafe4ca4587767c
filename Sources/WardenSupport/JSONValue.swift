/// A JSON value whose objects keep their keys in the order they were written.
///
/// pgwarden's JSON is read by people as well as by `jq`: fields appear in the
/// order DESIGN.md lists them, which Foundation's encoder does not promise.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.serialized() == rhs.serialized()
    }

    /// The value as JSON text: compact on one line, or indented by two spaces.
    public func serialized(pretty: Bool = false) -> String {
        var output = ""
        write(to: &output, pretty: pretty, indent: "")
        return output
    }

    private func write(to output: inout String, pretty: Bool, indent: String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .integer(let value): output += String(value)
        case .number(let value): output += Self.numberText(value)
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let elements):
            writeContainer(
                elements.map { (nil, $0) },
                brackets: ("[", "]"),
                to: &output,
                pretty: pretty,
                indent: indent
            )
        case .object(let members):
            writeContainer(members.map { ($0, $1) }, brackets: ("{", "}"), to: &output, pretty: pretty, indent: indent)
        }
    }

    private func writeContainer(
        _ members: [(String?, JSONValue)],
        brackets: (String, String),
        to output: inout String,
        pretty: Bool,
        indent: String
    ) {
        output += brackets.0
        guard !members.isEmpty else {
            output += brackets.1
            return
        }
        let inner = indent + "  "
        for (index, (key, value)) in members.enumerated() {
            if index > 0 { output += "," }
            if pretty { output += "\n" + inner }
            if let key {
                Self.writeString(key, to: &output)
                output += pretty ? ": " : ":"
            }
            value.write(to: &output, pretty: pretty, indent: inner)
        }
        if pretty { output += "\n" + indent }
        output += brackets.1
    }

    /// `30` rather than Swift's `30.0`; `null` for what JSON cannot hold.
    private static func numberText(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    private static func writeString(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            // C0, DEL, C1, line separators and bidi controls: escaped, so JSON on a terminal is inert too.
            case _ where !TerminalText.isSafe(String(scalar)):
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension JSONValue {
    /// `.string`, or `.null` for `nil`.
    public static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    /// `.integer`, or `.null` for `nil`.
    public static func integer<Value: BinaryInteger>(_ value: Value?) -> JSONValue {
        value.map { .integer(Int($0)) } ?? .null
    }
    /// Seconds to the millisecond (`1.5`, not `1.5000000000000002`), or `.null` for `nil`.
    public static func seconds(_ value: Double?) -> JSONValue {
        value.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
    }
    /// An array of integers.
    public static func integers<Value: BinaryInteger>(_ values: [Value]) -> JSONValue {
        .array(values.map { .integer(Int($0)) })
    }
}
