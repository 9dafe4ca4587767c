import SQLParser
import Testing

/// A long script is parsed a piece at a time (``SQLParser/parseScript(_:)``): what crosses a piece's end must read
/// as if the script were parsed whole.
@Suite("Long scripts parsed a piece at a time")
struct SQLParserPieceTests {
    /// `count` one-line statements, about 60 bytes each.
    private static func filler(_ count: Int, from first: Int = 0) -> String {
        (first..<(first + count)).map { "UPDATE orders SET note = 'n\($0)' WHERE id = \($0);\n" }.joined()
    }

    @Test("a BEGIN ATOMIC body whose semicolons straddle a piece's end is one statement")
    func atomicBodyAcrossPieces() throws {
        // About 250 KB of statements, then a function whose 2,000 inner statements run past 256 KB.
        let before = Self.filler(5_250)
        let body = (0..<2_000).map { "SELECT \($0);" }.joined(separator: " ")
        let script =
            before + "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC \(body) END;\n"
            + Self.filler(10, from: 5_250)
        #expect(before.utf8.count < 256 * 1024)
        #expect(before.utf8.count + body.utf8.count > 256 * 1024)
        let statements = SQLParser.parse(script)
        #expect(statements.count == 5_261)
        #expect(statements.map(\.number) == Array(1...5_261))
        let function = statements[5_250]
        #expect(try function.result.get().type == "CreateFunctionStmt")
        #expect(function.line == 5_251)
        #expect(function.sql.hasSuffix("SELECT 1999; END"))
        #expect(statements.allSatisfy { (try? $0.result.get()) != nil })
        #expect(statements.last?.line == 5_261)
        #expect(statements.last?.sql == "UPDATE orders SET note = 'n5259' WHERE id = 5259")
    }

    @Test("a syntax error in a later piece: its line and column in the script; every other statement parses")
    func errorInALaterPiece() throws {
        let script = Self.filler(6_000) + "ALTER TABLE t ADD COLUMN b intt intt;\n" + Self.filler(6_000, from: 6_000)
        let statements = SQLParser.parse(script)
        #expect(statements.count == 12_001)
        guard case .failure(let failure) = statements[6_000].result else {
            Issue.record("statement 6001 parsed")
            return
        }
        #expect(failure.message == "syntax error at or near \"intt\"")
        #expect(failure.line == 6_001)
        #expect(failure.column == 33)
        #expect(statements.enumerated().allSatisfy { $0.offset == 6_000 || (try? $0.element.result.get()) != nil })
        #expect(statements[12_000].line == 12_001)
    }

    @Test("a statement left unfinished at the script's end fails alone")
    func unfinishedAtTheEnd() throws {
        let statements = SQLParser.parse(Self.filler(5_000) + "CREATE TABLE t (a int")
        #expect(statements.count == 5_001)
        guard case .failure(let failure) = statements[5_000].result else {
            Issue.record("the unfinished statement parsed")
            return
        }
        #expect(failure.message == "syntax error at end of input")
        #expect(statements.prefix(5_000).allSatisfy { (try? $0.result.get()) != nil })
    }
}
