import SQLParser
import Testing

@Suite("Statements split and parsed by PostgreSQL's parser")
struct SQLParserTests {
    @Test("splits where the parser does: semicolons in strings, dollar quotes and comments do not split")
    func splitsLikeThePostgreSQLParser() throws {
        let script = """
            -- a comment; with a semicolon
            CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; SELECT 2 $body$;
            INSERT INTO t (note) VALUES ('a;b'), (E'c\\';d');
            /* block; comment */ ALTER TABLE "Odd;Name" ADD COLUMN c int
            """
        let statements = SQLParser.parse(script)
        #expect(statements.map(\.number) == [1, 2, 3])
        // The parser puts the comments before a statement in it; the forecast shows it without them.
        #expect(statements.map(\.line) == [2, 3, 4])
        #expect(statements[0].sql == "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; SELECT 2 $body$")
        #expect(statements[2].sql == #"ALTER TABLE "Odd;Name" ADD COLUMN c int"#)
        #expect(statements[1].sql == "INSERT INTO t (note) VALUES ('a;b'), (E'c\\';d')")
        let alter = try statements[2].result.get()
        #expect(alter.type == "AlterTableStmt")
        #expect(alter["AlterTableStmt"]?["relation"]?["relname"]?.text == "Odd;Name")
    }

    @Test("an unparseable statement: its number, position and the parser's message; the others still parse")
    func reportsTheFailureAndParsesTheRest() throws {
        let script = "ALTER TABLE t ADD COLUMN a int;\nALTER TABLE t ADD COLUMN b intt intt;\nCREATE INDEX ON t (a);"
        let statements = SQLParser.parse(script)
        #expect(statements.count == 3)
        #expect(try statements[0].result.get().type == "AlterTableStmt")
        guard case .failure(let failure) = statements[1].result else {
            Issue.record("statement 2 parsed")
            return
        }
        #expect(failure.message == "syntax error at or near \"intt\"")
        #expect(failure.line == 2)
        #expect(failure.column == 33)
        #expect(try statements[2].result.get().type == "IndexStmt")
    }

    @Test("positions count characters, not bytes, after multi-byte text")
    func columnsCountCharacters() {
        let statements = SQLParser.parse("COMMENT ON TABLE t IS 'é€';\nSELECT 'ü' FROM WHERE;")
        guard case .failure(let failure) = statements[1].result else {
            Issue.record("statement 2 parsed")
            return
        }
        #expect(failure.line == 2)
        #expect(failure.column == 17)
    }

    @Test("the grammar is PostgreSQL 15's")
    func grammarVersion() {
        #expect(SQLParser.grammarMajorVersion == 15)
    }
}

extension SQLParserTests {
    @Test("a VALUES list of constants of 64 KB or more is read as an empty list; with a subquery in it, whole")
    func longListsOfConstants() throws {
        let rows = (0..<5000).map { "(\($0), 'n\($0)', -1.5, true, NULL, 'x'::text)" }.joined(separator: ", ")
        func valuesLists(_ sql: String) throws -> [ParseNode] {
            let tree = try SQLParser.parse(sql)[0].result.get()
            return tree["InsertStmt"]?["selectStmt"]?["SelectStmt"]?["valuesLists"]?.elements ?? []
        }
        #expect(try valuesLists("INSERT INTO orders VALUES " + rows).isEmpty)
        let query = ", ((SELECT max(id) FROM archive), 'a', 0, false, NULL, 'y')"
        let withQuery = try valuesLists("INSERT INTO orders VALUES " + rows + query)
        #expect(withQuery.count == 5001)
        #expect(withQuery.last?.descendants(ofType: "RangeVar").first?["relname"]?.text == "archive")
        #expect(try valuesLists("INSERT INTO orders VALUES (1, 'a'), (2, 'b')").count == 2)
        #expect(try valuesLists("INSERT INTO orders VALUES " + rows.replacing("true", with: "DEFAULT")).count == 5000)
    }
}
