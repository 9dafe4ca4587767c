import CLibPQ

extension ConnectionEnvironment {
    /// `connectionString` (or libpq's environment, when `nil`) with its database replaced by `database`: a libpq
    /// `key=value` string of every setting it makes, each value single-quoted. It is handed to libpq only, never
    /// printed: it carries the password when the original does.
    ///
    /// - Throws: ``PostgresError`` `invalidConnectionString` when libpq cannot parse the original.
    /// `settings` become the session's defaults through libpq's `options` (`-c name=value`, after any the original
    /// sets), so that `RESET` returns to them as it would to a database's own settings.
    package static func connectionString(
        _ connectionString: String?,
        database: String,
        settings defaults: [(name: String, value: String)] = []
    ) throws(PostgresError) -> String {
        var settings = try connectionString.map { original throws(PostgresError) in try keywords(of: original) } ?? []
        settings.removeAll { $0.keyword == "dbname" }
        settings.append((keyword: "dbname", value: database))
        if !defaults.isEmpty {
            let original = settings.first { $0.keyword == "options" }?.value
            settings.removeAll { $0.keyword == "options" }
            let ours = defaults.map { "-c " + escapedOption("\($0.name)=\($0.value)") }.joined(separator: " ")
            settings.append((keyword: "options", value: [original, ours].compactMap { $0 }.joined(separator: " ")))
        }
        return settings.map { "\($0.keyword)='\(quoted($0.value))'" }.joined(separator: " ")
    }

    private static func keywords(of connectionString: String) throws(PostgresError) -> [(
        keyword: String, value: String
    )] {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &message) else {
            if let message { PQfreemem(message) }
            _ = try variables(for: connectionString)  // throws the redacted error
            return []
        }
        defer { PQconninfoFree(options) }
        var result: [(keyword: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { result.append((String(cString: keyword), String(cString: value))) }
            option += 1
        }
        return result
    }

    /// A value in libpq's `options`: a backslash before each space and backslash.
    private static func escapedOption(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing(" ", with: "\\ ")
    }

    private static func quoted(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("'", with: "\\'")
    }
}
