import Testing
import WardenSupport

@Suite("Durations as operators write them")
struct DurationSyntaxTests {
    @Test(
        "parses each unit, PostgreSQL's too",
        arguments: [
            ("250ms", Duration.milliseconds(250)), ("10s", .seconds(10)), ("5m", .seconds(300)),
            ("5min", .seconds(300)), ("1h", .seconds(3600)), ("2d", .seconds(172_800)), ("500us", .microseconds(500)),
            ("1.5s", .milliseconds(1500)), (" 30s ", .seconds(30)), ("10 s", .seconds(10)),
            ("24d", .seconds(2_073_600)),
        ]
    )
    func parses(text: String, expected: Duration) throws {
        #expect(try DurationSyntax.parse(text, in: .positive) == expected)
    }

    @Test(
        "each mistake has its reason",
        arguments: [
            ("500", "has no unit: write 500ms or 500s"), ("2", "has no unit: write 2ms or 2s"),
            ("-5s", "must be positive"), ("0s", "must be longer than zero"),
            ("", "is empty: write a duration such as 500ms or 10s"),
            ("5x", "unknown unit 'x' (us, ms, s, min or m, h, d)"),
            ("1e300s", "is not a duration (write 500ms, 10s, 5min or 1h)"),
            ("1" + String(repeating: "0", count: 30) + "d", "must be at most 24d"), ("25d", "must be at most 24d"),
            ("nan", "is not a duration (write 500ms, 10s, 5min or 1h)"),
            ("1.2.3s", "is not a duration (write 500ms, 10s, 5min or 1h)"),
            ("\u{1B}[2J", "is not a duration (write 500ms, 10s, 5min or 1h)"),
        ]
    )
    func rejects(text: String, message: String) {
        #expect(throws: DurationSyntax.Problem(message: message)) { try DurationSyntax.parse(text, in: .positive) }
        #expect(DurationSyntax.parse(text) == nil)
    }

    @Test("ranges: lock_timeout at least 1ms, poll intervals at least 10ms, zero where it means at once")
    func ranges() throws {
        let lockTimeout =
            "must be at least 1ms: PostgreSQL counts lock_timeout in milliseconds and reads 0 as no timeout"
        for text in ["0s", "0.4ms", "999us"] {
            #expect(throws: DurationSyntax.Problem(message: lockTimeout)) {
                try DurationSyntax.parse(text, in: .lockTimeout)
            }
        }
        #expect(try DurationSyntax.parse("1ms", in: .lockTimeout) == .milliseconds(1))
        #expect(throws: DurationSyntax.Problem.self) { try DurationSyntax.parse("9ms", in: .pollInterval) }
        #expect(try DurationSyntax.parse("0s", in: .zeroOrMore) == .zero)
        // A negative one is told what the setting accepts instead.
        #expect(throws: DurationSyntax.Problem(message: "cannot be negative")) {
            try DurationSyntax.parse("-1s", in: .zeroOrMore)
        }
        #expect(throws: DurationSyntax.Problem(message: lockTimeout)) {
            try DurationSyntax.parse("-5ms", in: .lockTimeout)
        }
        // Only a duration is judged by its sign: "-abc" is not one at all.
        for text in ["-abc", "-", "--5s", "-5s!"] {
            #expect(throws: DurationSyntax.Problem(message: "is not a duration (write 500ms, 10s, 5min or 1h)")) {
                try DurationSyntax.parse(text, in: .zeroOrMore)
            }
        }
        #expect(throws: DurationSyntax.Problem(message: "cannot be negative")) {
            try DurationSyntax.parse("-5", in: .zeroOrMore)
        }
    }

    @Test("formats durations as written")
    func formatsDurations() {
        #expect(DurationSyntax.format(.seconds(30)) == "30s")
        #expect(DurationSyntax.format(.milliseconds(1500)) == "1500ms")
        #expect(DurationSyntax.format(.seconds(300)) == "5min")
        #expect(DurationSyntax.format(DurationSyntax.maximum) == "24d")
        #expect(DurationSyntax.format(.microseconds(500)) == "500us")
    }

    @Test("milliseconds of a huge duration clamp instead of trapping")
    func clamps() {
        #expect(Duration.seconds(Int64.max).milliseconds == Int.max)
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
