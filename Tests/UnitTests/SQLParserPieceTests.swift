import SQLParser
import Testing

/// A long script is parsed a piece at a time (``SQLParser/parseScript(_:)``): what crosses a piece's end must read
/// as if the script were parsed whole. The pieces here are 4 KB, so that the scripts can be short.
@Suite("Long scripts parsed a piece at a time")
struct SQLParserPieceTests {
    /// `count` one-line statements, about 60 bytes each.
    private static func filler(_ count: Int, from first: Int = 0) -> String {
        (first..<(first + count)).map { "UPDATE orders SET note = 'n\($0)' WHERE id = \($0);\n" }.joined()
    }

    private static let pieceBytes = 4096

    private static func parse(_ script: String) -> [ParsedStatement] {
        SQLParser.parseScript(script, pieceBytes: pieceBytes).statements
    }

    @Test("a BEGIN ATOMIC body whose semicolons straddle a piece's end is one statement")
    func atomicBodyAcrossPieces() throws {
        // About 3.9 KB of statements, then a function whose 200 inner statements run past the 4 KB piece.
        let before = Self.filler(80)
        let body = (0..<200).map { "SELECT \($0);" }.joined(separator: " ")
        let script =
            before + "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC \(body) END;\n"
            + Self.filler(10, from: 80)
        #expect(before.utf8.count < Self.pieceBytes)
        #expect(before.utf8.count + body.utf8.count > Self.pieceBytes)
        let statements = Self.parse(script)
        #expect(statements.count == 91)
        #expect(statements.map(\.number) == Array(1...91))
        let function = statements[80]
        #expect(try function.result.get().type == "CreateFunctionStmt")
        #expect(function.line == 81)
        #expect(function.sql.hasSuffix("SELECT 199; END"))
        #expect(statements.allSatisfy { (try? $0.result.get()) != nil })
        #expect(statements.last?.line == 91)
        #expect(statements.last?.sql == "UPDATE orders SET note = 'n89' WHERE id = 89")
    }

    @Test("a syntax error in a later piece: its line and column in the script; every other statement parses")
    func errorInALaterPiece() throws {
        let script = Self.filler(200) + "ALTER TABLE t ADD COLUMN b intt intt;\n" + Self.filler(200, from: 200)
        let statements = Self.parse(script)
        #expect(statements.count == 401)
        guard case .failure(let failure) = statements[200].result else {
            Issue.record("statement 201 parsed")
            return
        }
        #expect(failure.message == "syntax error at or near \"intt\"")
        #expect(failure.line == 201)
        #expect(failure.column == 33)
        #expect(statements.enumerated().allSatisfy { $0.offset == 200 || (try? $0.element.result.get()) != nil })
        #expect(statements[400].line == 401)
    }

    @Test("a statement left unfinished at the script's end fails alone")
    func unfinishedAtTheEnd() throws {
        let statements = Self.parse(Self.filler(200) + "CREATE TABLE t (a int")
        #expect(statements.count == 201)
        guard case .failure(let failure) = statements[200].result else {
            Issue.record("the unfinished statement parsed")
            return
        }
        #expect(failure.message == "syntax error at end of input")
        #expect(statements.prefix(200).allSatisfy { (try? $0.result.get()) != nil })
    }
}

extension SQLParserPieceTests {
    @Test("the pieces one at a time: numbered on from piece to piece, together the script parsed whole")
    func piecesOneAtATime() throws {
        let script = Self.filler(300) + "\\gset\nALTER TABLE t ADD COLUMN b intt intt;\n" + Self.filler(300, from: 300)
        var pieces = SQLParser.ScriptPieces(script, pieceBytes: Self.pieceBytes)
        var collected: [[ParsedStatement]] = []
        while let piece = pieces.next() { collected.append(piece) }
        #expect(collected.count > 4)
        #expect(collected.allSatisfy { !$0.isEmpty })
        let joined = collected.flatMap { $0 }
        let whole = SQLParser.parseScript(script)
        #expect(joined.map(\.number) == Array(1...601))
        #expect(joined.map(\.sql) == whole.statements.map(\.sql))
        #expect(joined.map(\.line) == whole.statements.map(\.line))
        #expect(pieces.skipped == whole.skipped)
        #expect(pieces.skipped.count == 1)
    }
}
