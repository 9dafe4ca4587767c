/// The fields of a JSON object of the parse tree, kept sorted by key.
///
/// A parse tree has millions of small objects for a long script: a sorted array is a fraction of a dictionary's
/// memory and time to build, looks a key up as fast at the sizes PostgreSQL's nodes have, and walks the fields in
/// one fixed order without sorting them at each walk.
package struct ParseFields: Sendable, Equatable, ExpressibleByDictionaryLiteral, RandomAccessCollection {
    /// One field. A struct rather than a tuple: an array of tuples is destroyed through the runtime's generic
    /// tuple witness, field by field, which was a tenth of a long script's forecast.
    package struct Field: Sendable {
        package var key: String
        package var value: ParseNode

        package init(key: String, value: ParseNode) {
            self.key = key
            self.value = value
        }
    }

    private var storage: [Field]

    /// Fields in any order; of a repeated key, the last.
    package init(_ pairs: consuming [(key: String, value: ParseNode)]) {
        self.init(fields: pairs.map { Field(key: $0.key, value: $0.value) })
    }

    /// Fields in any order; of a repeated key, the last.
    package init(fields: consuming [Field]) {
        // An insertion sort in place: stable (the last of a repeated key stays last) and the fastest for a node's
        // few fields, which libpg_query mostly writes in order already.
        var sorted = consume fields
        var repeated = false
        for index in sorted.indices.dropFirst() where sorted[index].key <= sorted[index - 1].key {
            let pair = sorted[index]
            var slot = index
            while slot > 0, pair.key < sorted[slot - 1].key {
                sorted[slot] = sorted[slot - 1]
                slot -= 1
            }
            sorted[slot] = pair
            if slot > 0, sorted[slot - 1].key == pair.key { repeated = true }
        }
        guard repeated else {
            storage = sorted
            return
        }
        var unique: [Field] = []
        unique.reserveCapacity(sorted.count)
        for pair in sorted {
            if unique.last?.key == pair.key { unique[unique.count - 1] = pair } else { unique.append(pair) }
        }
        storage = unique
    }

    package init(dictionaryLiteral elements: (String, ParseNode)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }

    package var startIndex: Int { storage.startIndex }
    package var endIndex: Int { storage.endIndex }
    package subscript(position: Int) -> (key: String, value: ParseNode) {
        (storage[position].key, storage[position].value)
    }

    /// The value of `key`, or `nil`.
    package subscript(key: String) -> ParseNode? {
        // PostgreSQL's nodes have a handful of fields: a scan is faster than hashing the key.
        for field in storage where field.key == key { return field.value }
        return nil
    }

    /// Calls `body` with each field's key and value in key order, where they are stored: no copy of a value (a walk
    /// over a long script's trees would otherwise retain and release every node it passes).
    package func forEachField(_ body: (borrowing String, borrowing ParseNode) throws -> Void) rethrows {
        try storage.withUnsafeBufferPointer { fields in
            for index in fields.indices { try body(fields[index].key, fields[index].value) }
        }
    }

    /// Whether there is a field `key`, without copying its value.
    package func contains(key: String) -> Bool {
        storage.withUnsafeBufferPointer { fields in
            for index in fields.indices where fields[index].key == key { return true }
            return false
        }
    }

    /// The keys, sorted.
    package var keys: [String] { storage.map(\.key) }

    package static func == (lhs: ParseFields, rhs: ParseFields) -> Bool {
        lhs.storage.count == rhs.storage.count
            && zip(lhs.storage, rhs.storage).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
