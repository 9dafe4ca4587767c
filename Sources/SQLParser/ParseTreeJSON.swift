import FoundationEssentials

/// libpg_query's JSON parse tree read in one pass, without recursion: a tree as deep as PostgreSQL's own parser
/// accepts (subqueries nested hundreds deep) is read, where Foundation's decoders stop at a fixed depth, and in time
/// linear in its length.
enum ParseTreeJSON {
    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "malformed parse-tree JSON at byte \(offset)" }
    }

    /// The containers being read, innermost last. The values of every open object (and of every open array) are
    /// one stack, each container's from where it began: a container is made once, at its size, when it closes,
    /// its values moved into it (an array per container, grown as values came, would be reallocated several times
    /// for each node).
    private struct Containers {
        enum Kind { case object, array }
        var kinds: [Kind] = []
        /// Where each open container's values begin, in ``pairs`` or ``values``.
        var starts: [Int] = []
        let pairs = MoveStack<ParseFields.Field>()
        var keys: [String?] = []
        let values = MoveStack<ParseNode>()

        /// Whether the innermost container, an array, has no value yet.
        var arrayIsEmpty: Bool { values.count == starts[starts.count - 1] }

        /// The innermost object's fields, taken off the stack.
        mutating func closeObject() -> [ParseFields.Field] { pairs.pop(from: starts.removeLast()) }

        /// The innermost array's values, taken off the stack.
        mutating func closeArray() -> [ParseNode] { values.pop(from: starts.removeLast()) }
    }

    static func parse(_ data: Data) throws -> ParseNode {
        try data.withUnsafeBytes { raw in try parse(raw.bindMemory(to: UInt8.self)) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> ParseNode {
        var index = 0
        var open = Containers()
        var finished: ParseNode?
        func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }
        /// Puts a finished value into the container on top, or makes it the result.
        func place(_ value: ParseNode) throws {
            switch open.kinds.last {
            case nil: finished = value
            case .array: open.values.push(value)
            case .object:
                guard let key = open.keys[open.keys.count - 1] else { throw Malformed(offset: index) }
                open.pairs.push(ParseFields.Field(key: key, value: value))
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
                    try place(.object(ParseFields(fields: open.closeObject())))
                    continue
                }
                // A comma before any key but the first (the first may have been a location, not kept).
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    skipSpace()
                }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Malformed(offset: index) }
                if let end = locationEnd(bytes, from: index) {
                    index = end
                    continue
                }
                let key = try string(bytes, &index)
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Malformed(offset: index) }
                index += 1
                open.keys[open.keys.count - 1] = key
                if key == "valuesLists" {
                    skipSpace()
                    if let end = constantRowsEnd(bytes, from: index) {
                        index = end
                        try place(.array([]))
                    }
                }
                continue
            }
            if open.kinds.last == .array {
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    open.kinds.removeLast()
                    try place(.array(open.closeArray()))
                    continue
                }
                if bytes[index] == UInt8(ascii: ","), !open.arrayIsEmpty {
                    index += 1
                    skipSpace()
                }
                guard index < bytes.count else { throw Malformed(offset: index) }
            }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                open.kinds.append(.object)
                open.starts.append(open.pairs.count)
                open.keys.append(nil)
            case UInt8(ascii: "["):
                index += 1
                open.kinds.append(.array)
                open.starts.append(open.values.count)
            default: try place(try scalar(bytes, &index))
            }
        }
        guard let finished else { throw Malformed(offset: index) }
        return finished
    }

    /// `"location": N` at `start` (its key's opening quote): where the parser read a node in the text. Every node
    /// has one and the forecast reads none (statements are placed by `stmt_location`), so it is not kept: a third
    /// of a small statement's fields. Returns the offset after the number, or `nil` for any other key.
    private static func locationEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let key: StaticString = "\"location\":"
        guard start + key.utf8CodeUnitCount < bytes.count else { return nil }
        for offset in 0..<key.utf8CodeUnitCount where bytes[start + offset] != key.utf8Start[offset] { return nil }
        var index = start + key.utf8CodeUnitCount
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digits = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
        return index > digits ? index : nil
    }

    /// The keys of a VALUES list's rows of constants only: lists of constants, typed or cast.
    private static let constantKeys: [[UInt8]] = [
        "List", "items", "A_Const", "ival", "sval", "fval", "boolval", "bsval", "isnull", "location", "TypeCast", "arg",
        "typeName", "names", "String", "typemod", "typmods", "arrayBounds", "Integer",
    ].map { Array($0.utf8) }

    /// A VALUES list of at least 64 KB (an `INSERT` of thousands of rows) whose rows hold only constants is read as
    /// an empty list: no constant names a relation or a function, and the forecast never reads one, while the rows
    /// of a 50 MB `INSERT` would be tens of millions of nodes. Returns the offset after the list's `]`, or `nil`
    /// (the list is read as usual) when it is shorter or holds anything else (a subquery, a function, DEFAULT).
    private static func constantRowsEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "[") else { return nil }
        var index = start
        var depth = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return index + 1 - start >= 64 * 1024 ? index + 1 : nil }
            case UInt8(ascii: "\""):
                var end = index + 1
                while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                    end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard end < bytes.count else { return nil }
                var after = end + 1
                while after < bytes.count, bytes[after] == 0x20 || bytes[after] == 0x0A { after += 1 }
                // A key: one of the constants' own, or the list is read as usual.
                if after < bytes.count, bytes[after] == UInt8(ascii: ":"), !isConstantKey(bytes, (index + 1)..<end) {
                    return nil
                }
                index = end
            default: break
            }
            index += 1
        }
        return nil
    }

    /// Whether `bytes[range]` is one of ``constantKeys``: compared byte by byte, without a String.
    private static func isConstantKey(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        candidates: for candidate in constantKeys where candidate.count == range.count {
            for (offset, byte) in candidate.enumerated() where bytes[range.lowerBound + offset] != byte {
                continue candidates
            }
            return true
        }
        return false
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
        // Nearly every number of the tree is an integer (a location, a constant): read without a String.
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value = 0
        var digits = 0
        while index < bytes.count, digits < 18, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            value = value * 10 + Int(bytes[index] - 0x30)
            digits += 1
            index += 1
        }
        let ended = index == bytes.count || !"+-0123456789.eE".utf8.contains(bytes[index])
        if digits > 0, ended { return Double(negative ? -value : value) }
        index = start
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
