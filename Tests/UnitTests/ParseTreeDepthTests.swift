import Foundation
import SQLParser
import Testing

/// What PostgreSQL parses, pgwarden parses: trees deeper than Foundation's JSON decoders read.
@Suite("Parse trees as deep as PostgreSQL accepts")
struct ParseTreeDepthTests {
    @Test("subqueries nested 1,000 deep: one SelectStmt, the table at the bottom found")
    func deepSubqueries() throws {
        var sql = "SELECT * FROM customers"
        for level in 0..<1000 { sql = "SELECT * FROM (\(sql)) AS a\(level)" }
        let statements = SQLParser.parse(sql)
        #expect(statements.count == 1)
        let tree = try statements[0].result.get()
        #expect(tree.type == "SelectStmt")
        let tables = tree.descendants(ofType: "RangeVar").compactMap { $0["relname"]?.text }
        #expect(tables == ["customers"])
    }

    @Test("strings with JSON escapes come back as written: quotes, backslashes, newlines, astral characters")
    func escapes() throws {
        let tree = try SQLParser.parse("SELECT 'a\"b\\\\c\nd😀é'").first!.result.get()
        let constant = tree.descendants(ofType: "A_Const").first?["sval"]?["sval"]?.text
        #expect(constant == "a\"b\\\\c\nd😀é")
        let json = try ParseNode(json: Data(#"{"a":[1,-2.5e1,true,false,null,"\ud83d\ude00\u00e9\/"]}"#.utf8))
        #expect(
            json
                == .object(["a": .array([.number(1), .number(-25), .bool(true), .bool(false), .null, .string("😀é/")])])
        )
    }

    @Test("locations are not kept (the forecast reads none), whether first, last or alone in an object")
    func locationsDropped() throws {
        let json = try ParseNode(json: Data(#"{"location":3,"a":{"b":1,"location":-1},"c":{"location":7}}"#.utf8))
        #expect(json == .object(["a": .object(["b": .number(1)]), "c": .object([:])]))
        let tree = try SQLParser.parse("UPDATE orders SET note = 'x' WHERE id = 1").first!.result.get()
        #expect(!"\(tree)".contains("location"))
        #expect(tree["UpdateStmt"]?["relation"]?["relname"]?.text == "orders")
    }

    @Test("malformed JSON is an error, not a crash")
    func malformed() {
        for text in ["", "{", #"{"a" 1}"#, "[1,", #"{"a":tru}"#, #""abc"#] {
            #expect(throws: (any Error).self) { try ParseNode(json: Data(text.utf8)) }
        }
    }
}
