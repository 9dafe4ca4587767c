/// A Swift value that can be read from a column's text format.
package protocol PostgresDecodable: Sendable {
    /// Parses the server's text output, or returns `nil` when it does not fit.
    init?(postgresText: String)
}

extension String: PostgresDecodable {
    package init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresDecodable {
    package init?(postgresText: String) { self.init(postgresText) }
}

extension Int32: PostgresDecodable {
    package init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresDecodable {
    package init?(postgresText: String) { self.init(postgresText) }
}

extension Bool: PostgresDecodable {
    package init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// Reads a one-dimensional array of unquoted elements, such as `{1,2,3}` or `{}`.
    ///
    /// pgwarden reads only integer arrays this way; quoted or nested elements are rejected.
    package init?(postgresText: String) {
        guard postgresText.hasPrefix("{"), postgresText.hasSuffix("}") else { return nil }
        let body = postgresText.dropFirst().dropLast()
        if body.isEmpty {
            self = []
            return
        }
        var elements: [Element] = []
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.contains("\""), !part.contains("{"),
                let element = Element(postgresText: String(part))
            else { return nil }
            elements.append(element)
        }
        self = elements
    }
}
