/// A Swift value that can be bound to a statement parameter in text format.
package protocol PostgresEncodable: Sendable {
    /// The parameter's text representation, as the server's input function reads it.
    var postgresText: String { get }
}

extension String: PostgresEncodable {
    package var postgresText: String { self }
}

extension Int: PostgresEncodable {
    package var postgresText: String { String(self) }
}

extension Int32: PostgresEncodable {
    package var postgresText: String { String(self) }
}

extension Bool: PostgresEncodable {
    package var postgresText: String { self ? "true" : "false" }
}

extension Array: PostgresEncodable where Element == Int32 {
    /// An integer array literal, such as `{1,2,3}`.
    package var postgresText: String { "{" + map { String($0) }.joined(separator: ",") + "}" }
}
