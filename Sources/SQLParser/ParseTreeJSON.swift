import FoundationEssentials

/// libpg_query's JSON parse tree read in one pass, without recursion: a tree as deep as PostgreSQL's own parser
/// accepts (subqueries nested hundreds deep) is read, where Foundation's decoders stop at a fixed depth, and in time
/// linear in its length.
enum ParseTreeJSON {
    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "malformed parse-tree JSON at byte \(offset)" }
    }

    /// The containers being read, innermost last: each kind's values live in a stack of their own, so that a value
    /// is appended in place (an enum payload taken out and put back would copy the whole container each time).
    private struct Containers {
        enum Kind { case object, array }
        var kinds: [Kind] = []
        var objects: [[(key: String, value: ParseNode)]] = []
        var keys: [String?] = []
        var arrays: [[ParseNode]] = []
    }

    static func parse(_ data: Data) throws -> ParseNode {
        try data.withUnsafeBytes { raw in try parse(raw.bindMemory(to: UInt8.self)) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> ParseNode {
        var index = 0
        var open = Containers()
        var finished: ParseNode?
        func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }
        /// Puts a finished value into the container on top, or makes it the result.
        func place(_ value: ParseNode) throws {
            switch open.kinds.last {
            case nil: finished = value
            case .array: open.arrays[open.arrays.count - 1].append(value)
            case .object:
                guard let key = open.keys[open.keys.count - 1] else { throw Malformed(offset: index) }
                open.objects[open.objects.count - 1].append((key, value))
                open.keys[open.keys.count - 1] = nil
            }
        }
        while finished == nil {
            skipSpace()
            guard index < bytes.count else { throw Malformed(offset: index) }
            if open.kinds.last == .object, open.keys[open.keys.count - 1] == nil {
                // Where a key is due: the end of the object, or the next key.
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    open.kinds.removeLast()
                    open.keys.removeLast()
                    try place(.object(ParseFields(open.objects.removeLast())))
                    continue
                }
                if bytes[index] == UInt8(ascii: ","), !open.objects[open.objects.count - 1].isEmpty {
                    index += 1
                    skipSpace()
                }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Malformed(offset: index) }
                let key = try string(bytes, &index)
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Malformed(offset: index) }
                index += 1
                open.keys[open.keys.count - 1] = key
                continue
            }
            if open.kinds.last == .array {
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    open.kinds.removeLast()
                    try place(.array(open.arrays.removeLast()))
                    continue
                }
                if bytes[index] == UInt8(ascii: ","), !open.arrays[open.arrays.count - 1].isEmpty {
                    index += 1
                    skipSpace()
                }
                guard index < bytes.count else { throw Malformed(offset: index) }
            }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                open.kinds.append(.object)
                open.objects.append([])
                open.keys.append(nil)
            case UInt8(ascii: "["):
                index += 1
                open.kinds.append(.array)
                open.arrays.append([])
            default: try place(try scalar(bytes, &index))
            }
        }
        guard let finished else { throw Malformed(offset: index) }
        return finished
    }

    /// A string, a number, `true`, `false` or `null`, starting at `index`.
    private static func scalar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws -> ParseNode {
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string(bytes, &index))
        case UInt8(ascii: "t"):
            try literal("true", bytes, &index)
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false", bytes, &index)
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null", bytes, &index)
            return .null
        default: return .number(try number(bytes, &index))
        }
    }

    private static func literal(_ word: String, _ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws {
        let count = word.utf8.count
        guard index + count <= bytes.count, word.utf8.elementsEqual(bytes[index..<(index + count)]) else {
            throw Malformed(offset: index)
        }
        index += count
    }

    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws -> Double {
        let start = index
        while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            throw Malformed(offset: start)
        }
        return value
    }

    /// A JSON string at `index` (its opening quote), unescaped.
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws -> String {
        index += 1
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            defer { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        var scalars = Array(bytes[start..<index])
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            guard bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count else {
                scalars.append(bytes[index])
                index += 1
                continue
            }
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count,
                    var code = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
                else { throw Malformed(offset: index) }
                index += 4
                // A surrogate pair: the low half follows as \uDC00…\uDFFF.
                if (0xD800..<0xDC00).contains(code), index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    let low = UInt32(String(decoding: bytes[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16),
                    (0xDC00..<0xE000).contains(low)
                {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                scalars += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
            default: scalars.append(escaped)
            }
        }
        guard index < bytes.count else { throw Malformed(offset: index) }
        index += 1
        return String(decoding: scalars, as: UTF8.self)
    }
}
