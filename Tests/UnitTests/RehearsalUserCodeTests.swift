import Forecast
import SQLParser
import Testing

/// What the rehearsal learns from the script: what it creates that runs code, and whether it wrote rows.
@Suite("The rehearsal's record of code that is not PostgreSQL's own")
struct RehearsalUserCodeTests {
    static func learn(_ script: [(String, Bool)], inBlock: Bool = false) -> RehearsalUserCode {
        var code = RehearsalUserCode()
        var block = inBlock
        for (sql, ran) in script {
            code.learn(SQLParser.parse(sql)[0], ran: ran, inBlock: block)
            if sql == "BEGIN" { block = true }
            if ["COMMIT", "ROLLBACK"].contains(sql) { block = false }
        }
        return code
    }

    @Test("rows written and committed, or outside a block, stay; a ROLLBACK drops those of its block")
    func rows() {
        #expect(!Self.learn([("SELECT 1", true)]).rowsMayExist)
        #expect(Self.learn([("INSERT INTO t VALUES (1)", true)]).rowsCommitted)
        #expect(!Self.learn([("INSERT INTO t VALUES (1)", false)]).rowsMayExist, "it failed: nothing written")
        #expect(!Self.learn([("BEGIN", true), ("INSERT INTO t VALUES (1)", true), ("ROLLBACK", true)]).rowsMayExist)
        let committed = Self.learn([("BEGIN", true), ("UPDATE t SET a = 1", true), ("COMMIT", true)])
        #expect(committed.rowsCommitted && !committed.rowsPending)
        #expect(Self.learn([("CREATE TABLE c AS SELECT 1", true)]).rowsMayExist)
    }

    @Test("functions, aggregates, operators and renames the script makes are named, lowercased")
    func created() {
        let code = Self.learn([
            ("CREATE FUNCTION \"Adv\"() RETURNS int LANGUAGE sql AS 'SELECT 1'", false),
            ("CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1'", true),
            ("CREATE AGGREGATE agg (int) (sfunc = int4pl, stype = int)", true),
            ("CREATE OPERATOR ### (function = int4pl, leftarg = int, rightarg = int)", true),
        ])
        #expect(code.functions == ["adv", "p", "agg"])
        #expect(code.operators == ["###"])
    }
}
