import SQLParser
import Testing

/// psql's own input in a migration file: skipped with a note, never swallowing the next statement.
@Suite("SQL files written for psql: meta-commands and COPY data")
struct PsqlTextTests {
    @Test("a meta-command and COPY … FROM STDIN data are skipped; the ALTER after them is its own statement")
    func metaCommandAndCopyData() throws {
        let script = """
            SELECT 1 AS one \\gset
            \\connect other
            COPY orders (id) FROM stdin;
            1
            ALTER TABLE nope;
            \\.
            ALTER TABLE orders ADD COLUMN z int;
            """
        let (statements, skipped) = SQLParser.parseScript(script)
        #expect(
            statements.map(\.sql) == [
                "SELECT 1 AS one", "COPY orders (id) FROM stdin", "ALTER TABLE orders ADD COLUMN z int",
            ]
        )
        #expect(statements.map(\.line) == [1, 3, 7])
        #expect(statements.allSatisfy { if case .success = $0.result { true } else { false } })
        #expect(skipped.map(\.line) == [1, 2, 4])
        #expect(skipped[1].what.hasPrefix("psql meta-command \\connect other (the statements after it run"))
        #expect(skipped[2].what == "COPY … FROM STDIN data (2 line(s))")
    }

    @Test(
        "backslashes inside strings, E'' strings, quoted names, comments and dollar quotes are SQL, not meta-commands"
    )
    func backslashesInsideSQL() {
        let script = """
            SELECT E'a\\\\b\\'c', 'd\\', "e\\f" FROM t; -- \\g
            /* \\connect x */ CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT '\\x' $body$;
            SELECT $1;
            """
        let (statements, skipped) = SQLParser.parseScript(script)
        #expect(skipped.isEmpty)
        #expect(statements.count == 3)
    }

    @Test("\\g after a statement without a semicolon sends it: the next line is a statement of its own")
    func sendingMetaCommandEndsTheStatement() {
        let (statements, skipped) = SQLParser.parseScript("UPDATE t SET a = 1\n\\g\nDELETE FROM t")
        #expect(statements.map(\.sql) == ["UPDATE t SET a = 1", "DELETE FROM t"])
        #expect(skipped.count == 1)
    }

    @Test("COPY … FROM STDIN data that never ends with \\. runs to the end of the file")
    func unterminatedCopyData() {
        let (statements, skipped) = SQLParser.parseScript("COPY t FROM STDIN;\n1\t2\n3\t4")
        #expect(statements.map(\.sql) == ["COPY t FROM STDIN"])
        #expect(skipped.map(\.what) == ["COPY … FROM STDIN data (2 line(s))"])
    }
}
