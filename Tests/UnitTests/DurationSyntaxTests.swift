import Testing
import WardenSupport

@Suite("Durations as operators write them")
struct DurationSyntaxTests {
    @Test(
        "parses each unit and bare seconds",
        arguments: [
            ("250ms", Duration.milliseconds(250)), ("10s", .seconds(10)), ("5m", .seconds(300)),
            ("1h", .seconds(3600)), ("2", .seconds(2)), ("1.5s", .milliseconds(1500)), (" 30s ", .seconds(30)),
        ]
    )
    func parses(text: String, expected: Duration) {
        #expect(DurationSyntax.parse(text) == expected)
    }

    @Test("rejects what is not a duration", arguments: ["", "s", "-1s", "10 s", "1d", "abc", "1e3", "nan", "1.2.3s"])
    func rejects(text: String) {
        #expect(DurationSyntax.parse(text) == nil)
    }

    @Test("formats for people")
    func formats() {
        #expect(DurationSyntax.format(seconds: 0.44) == "0.4s")
        #expect(DurationSyntax.format(seconds: 3) == "3s")
        #expect(DurationSyntax.format(seconds: 12.4) == "12s")
        #expect(DurationSyntax.format(seconds: 185) == "3m05s")
        #expect(DurationSyntax.format(seconds: 7441) == "2h04m")
        #expect(DurationSyntax.format(seconds: -1) == "?")
    }
}
