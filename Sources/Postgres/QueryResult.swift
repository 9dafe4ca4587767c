/// The rows a statement returned, copied out of libpq's result in text format.
package struct QueryResult: Sendable {
    /// The column names, in order.
    package let columns: [String]
    /// The rows, in order.
    package let rows: [Row]
    /// Notices and warnings the server sent with this result, such as
    /// `pg_cancel_backend`'s "PID … is not a PostgreSQL server process".
    package let notices: [ServerNotice]

    init(columns: [String], values: [[String?]], notices: [ServerNotice]) {
        self.columns = columns
        self.notices = notices
        let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        rows = values.map { Row(columnIndex: index, values: $0) }
    }
}

/// One row of a ``QueryResult``; values are read by column name.
package struct Row: Sendable {
    private let columnIndex: [String: Int]
    private let values: [String?]

    init(columnIndex: [String: Int], values: [String?]) {
        self.columnIndex = columnIndex
        self.values = values
    }

    /// The text of a column, `nil` when SQL `NULL`.
    ///
    /// - Throws: ``PostgresError/Code-swift.struct/unexpectedResult`` when the column does not exist.
    package func text(_ column: String) throws(PostgresError) -> String? {
        guard let position = columnIndex[column] else {
            throw PostgresError(code: .unexpectedResult, message: "the result has no column \"\(column)\"")
        }
        return values[position]
    }

    /// A column decoded from its text form; `nil` when SQL `NULL`.
    package func decode<Value: PostgresDecodable>(
        _ type: Value.Type = Value.self,
        _ column: String
    ) throws(PostgresError) -> Value? {
        guard let text = try text(column) else { return nil }
        guard let value = Value(postgresText: text) else {
            throw PostgresError(
                code: .unexpectedResult,
                message: "column \"\(column)\" holds \"\(text)\", not a \(Value.self)"
            )
        }
        return value
    }

    /// A column that must not be `NULL`.
    package func require<Value: PostgresDecodable>(
        _ type: Value.Type = Value.self,
        _ column: String
    ) throws(PostgresError) -> Value {
        guard let value = try decode(Value.self, column) else {
            throw PostgresError(code: .unexpectedResult, message: "column \"\(column)\" is NULL")
        }
        return value
    }
}
