import Postgres
import Testing

@Suite("The session settings' one statement")
struct SessionSettingsStatementTests {
    @Test("every setting in one SELECT, in order, each value a parameter")
    func oneStatement() throws {
        let statement = try #require(
            SessionSettingsStatement.make([
                ("statement_timeout", "5000ms"), ("jit", "off"), ("search_path", "pg_catalog, pg_temp"),
            ])
        )
        #expect(
            statement.sql
                == "SELECT pg_catalog.set_config($1, $2, false), pg_catalog.set_config($3, $4, false),"
                + " pg_catalog.set_config($5, $6, false)"
        )
        #expect(
            statement.parameters == ["statement_timeout", "5000ms", "jit", "off", "search_path", "pg_catalog, pg_temp"]
        )
    }

    @Test("nothing to set: no statement, no round trip")
    func nothing() {
        #expect(SessionSettingsStatement.make([]) == nil)
    }
}
