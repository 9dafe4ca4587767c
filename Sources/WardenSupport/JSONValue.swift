/// A JSON value whose objects keep their keys in the order they were written.
///
/// pgwarden's JSON is read by people as well as by `jq`: fields appear in the
/// order DESIGN.md lists them, which Foundation's encoder does not promise.
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.serialized() == rhs.serialized()
    }

    /// The value as JSON text: compact on one line, or indented by two spaces.
    package func serialized(pretty: Bool = false) -> String {
        String(decoding: serializedBytes(pretty: pretty), as: UTF8.self)
    }

    /// ``serialized(pretty:)`` as UTF-8 bytes, written in one pass into one buffer (a forecast of a million
    /// statements is hundreds of megabytes of JSON).
    package func serializedBytes(pretty: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(to: &output, pretty: pretty, depth: 0)
        return output
    }

    /// ``serializedBytes(pretty:)`` of the object `members`, whose member `streamed` is an array of `count` values
    /// made one at a time by `element` (its value in `members` is not read), the text handed to `flush` a megabyte
    /// at a time: a forecast of a million statements never holds its JSON, or its values, whole.
    package static func writeObject(
        _ members: [(String, JSONValue)],
        streaming streamed: String,
        count: Int,
        element: (Int) -> JSONValue,
        pretty: Bool,
        flush: (inout [UInt8]) -> Void
    ) {
        var output: [UInt8] = [UInt8(ascii: "{")]
        output.reserveCapacity(1 << 20)
        for (index, (key, value)) in members.enumerated() {
            separate(index, &output, pretty: pretty, depth: 1)
            writeString(key, to: &output)
            output.append(UInt8(ascii: ":"))
            if pretty { output.append(UInt8(ascii: " ")) }
            guard key == streamed else {
                value.write(to: &output, pretty: pretty, depth: 1)
                continue
            }
            output.append(UInt8(ascii: "["))
            for position in 0..<count {
                separate(position, &output, pretty: pretty, depth: 2)
                element(position).write(to: &output, pretty: pretty, depth: 2)
                if output.count >= 1 << 20 { flush(&output) }
            }
            close(UInt8(ascii: "]"), empty: count == 0, &output, pretty: pretty, depth: 1)
        }
        close(UInt8(ascii: "}"), empty: members.isEmpty, &output, pretty: pretty, depth: 0)
        flush(&output)
    }

    private func write(to output: inout [UInt8], pretty: Bool, depth: Int) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): output.append(contentsOf: String(value).utf8)
        case .number(let value): output.append(contentsOf: Self.numberText(value).utf8)
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                Self.separate(index, &output, pretty: pretty, depth: depth + 1)
                element.write(to: &output, pretty: pretty, depth: depth + 1)
            }
            Self.close(UInt8(ascii: "]"), empty: elements.isEmpty, &output, pretty: pretty, depth: depth)
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                Self.separate(index, &output, pretty: pretty, depth: depth + 1)
                Self.writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                if pretty { output.append(UInt8(ascii: " ")) }
                value.write(to: &output, pretty: pretty, depth: depth + 1)
            }
            Self.close(UInt8(ascii: "}"), empty: members.isEmpty, &output, pretty: pretty, depth: depth)
        }
    }

    /// The comma before every member but the first and, pretty, the new line and indent of a member.
    private static func separate(_ index: Int, _ output: inout [UInt8], pretty: Bool, depth: Int) {
        if index > 0 { output.append(UInt8(ascii: ",")) }
        if pretty { newLine(&output, depth: depth) }
    }

    private static func close(_ bracket: UInt8, empty: Bool, _ output: inout [UInt8], pretty: Bool, depth: Int) {
        if pretty && !empty { newLine(&output, depth: depth) }
        output.append(bracket)
    }

    private static func newLine(_ output: inout [UInt8], depth: Int) {
        output.append(UInt8(ascii: "\n"))
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    /// `30` rather than Swift's `30.0`; `null` for what JSON cannot hold.
    private static func numberText(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                // A run of printable ASCII other than the quote and the backslash (nearly every byte of SQL): as it
                // is, appended at once.
                var end = index
                while end < bytes.count, bytes[end] >= 0x20, bytes[end] < 0x7F, bytes[end] != UInt8(ascii: "\""),
                    bytes[end] != UInt8(ascii: "\\")
                {
                    end += 1
                }
                if end > index {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                    index = end
                    continue
                }
                let (scalar, length) = scalar(in: bytes, at: index)
                writeScalar(scalar, bytes[index..<(index + length)], to: &output)
                index += length
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// The scalar that starts at `index` of valid UTF-8 (a Swift string's), and its length in bytes.
    private static func scalar(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (Unicode.Scalar, Int) {
        let lead = bytes[index]
        let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        var value = length == 1 ? UInt32(lead) : UInt32(lead) & (0xFF >> (length + 1))
        for offset in 1..<max(1, length) { value = value << 6 | UInt32(bytes[index + offset] & 0x3F) }
        return (Unicode.Scalar(value) ?? "\u{FFFD}", length)
    }

    private static func writeScalar(
        _ scalar: Unicode.Scalar,
        _ encoded: Slice<UnsafeBufferPointer<UInt8>>,
        to output: inout [UInt8]
    ) {
        switch scalar {
        case "\"": output.append(contentsOf: "\\\"".utf8)
        case "\\": output.append(contentsOf: "\\\\".utf8)
        case "\n": output.append(contentsOf: "\\n".utf8)
        case "\r": output.append(contentsOf: "\\r".utf8)
        case "\t": output.append(contentsOf: "\\t".utf8)
        // C0, DEL, C1, line separators and bidi controls: escaped, so JSON on a terminal is inert too.
        case _ where !TerminalText.isSafe(scalar):
            let hex = String(scalar.value, radix: 16)
            output.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
        default: output.append(contentsOf: encoded)
        }
    }
}

extension JSONValue {
    /// `.string`, or `.null` for `nil`.
    package static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    /// `.integer`, or `.null` for `nil`.
    package static func integer(_ value: Int?) -> JSONValue {
        // Not generic: a generic one is called through the protocol's witnesses from another module.
        value.map { .integer($0) } ?? .null
    }
    /// `.integer`, or `.null` for `nil`.
    package static func integer<Value: BinaryInteger>(_ value: Value?) -> JSONValue {
        value.map { .integer(Int($0)) } ?? .null
    }
    /// Seconds to the millisecond (`1.5`, not `1.5000000000000002`), or `.null` for `nil`.
    package static func seconds(_ value: Double?) -> JSONValue {
        value.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
    }
    /// An array of integers.
    package static func integers<Value: BinaryInteger>(_ values: [Value]) -> JSONValue {
        .array(values.map { .integer(Int($0)) })
    }
}
