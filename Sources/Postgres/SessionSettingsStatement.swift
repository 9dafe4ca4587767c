/// The one statement that applies a session's run-time parameters once connected.
///
/// `set_config` once per setting, left to right in a single `SELECT`: one round trip however
/// many settings there are (a cold `pgwarden locks` has four), where one statement per setting
/// cost a round trip each. Names and values are parameters, never pasted into the text; a
/// setting named twice ends with its last value, as the separate statements had it.
package enum SessionSettingsStatement {
    /// The statement and its parameters (name, value, name, value, …), or `nil` when there is
    /// nothing to set.
    package static func make(
        _ settings: [(name: String, value: String)]
    ) -> (sql: String, parameters: [String])? {
        guard !settings.isEmpty else { return nil }
        let calls = settings.indices.map { index in
            "pg_catalog.set_config($\(2 * index + 1), $\(2 * index + 2), false)"
        }
        return ("SELECT " + calls.joined(separator: ", "), settings.flatMap { [$0.name, $0.value] })
    }
}
