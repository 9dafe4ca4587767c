import Testing
import WardenSupport

@Suite("Ordered JSON")
struct JSONValueTests {
    @Test("keeps key order and writes nulls")
    func order() {
        let value = JSONValue.object([("z", .integer(1)), ("a", .null), ("m", .array([.bool(true), .number(1.5)]))])
        #expect(value.serialized() == #"{"z":1,"a":null,"m":[true,1.5]}"#)
    }

    @Test("escapes quotes, backslashes and control characters")
    func escaping() {
        let value = JSONValue.string("say \"hi\"\\\n\t\u{01}é")
        #expect(value.serialized() == #""say \"hi\"\\\n\t\u0001é""#)
    }

    @Test("runs of plain text between escapes are written whole, at the start, middle and end")
    func runs() {
        let value = JSONValue.string("UPDATE t SET a = 'x\"y' WHERE b = \u{7F}é\n")
        #expect(value.serialized() == #""UPDATE t SET a = 'x\"y' WHERE b = \u007fé\n""#)
        #expect(JSONValue.string("").serialized() == #""""#)
        #expect(JSONValue.integer(Int?.none).serialized() == "null")
        #expect(JSONValue.integer(Int?.some(7)).serialized() == "7")
    }

    @Test("pretty output is indented by two spaces")
    func pretty() {
        let value = JSONValue.object([("a", .array([.integer(1)])), ("b", .object([]))])
        #expect(value.serialized(pretty: true) == "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}")
    }

    @Test("seconds are rounded to the millisecond; non-finite numbers become null")
    func seconds() {
        #expect(JSONValue.seconds(1.5000000000000002).serialized() == "1.5")
        #expect(JSONValue.seconds(nil).serialized() == "null")
        #expect(JSONValue.number(.infinity).serialized() == "null")
    }
}
