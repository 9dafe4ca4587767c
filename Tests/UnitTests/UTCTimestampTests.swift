import FoundationEssentials
import Testing
import WardenSupport

@Suite("UTC timestamps without the calendar machinery")
struct UTCTimestampTests {
    /// Instants around the edges: the epoch, before it, leap days, centuries, sub-millisecond parts.
    static let instants: [Double] = [
        0, 0.000_4, 0.999_9, 1, -0.001, -1, -86_400.5, 951_782_400.123_4, 951_868_799.999_9, 978_307_200,
        1_709_164_800.5, 1_764_439_200.123, 1_796_688_010.987_654, 4_107_542_400.25, -2_208_988_800.75,
        253_402_300_799.999,
    ]

    @Test("the same text as FoundationEssentials' ISO 8601 style, fractional seconds and not", arguments: instants)
    func matchesFoundation(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(
            UTCTimestamp.iso8601(date, fractionalSeconds: true)
                == date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        )
        #expect(
            UTCTimestamp.iso8601(date, fractionalSeconds: false)
                == date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
        )
    }

    @Test("a spread of instants over four centuries agrees too")
    func spread() {
        var seconds = -12_219_292_800.0  // 1582-10-15
        while seconds < 32_503_680_000 {  // 3000-01-01
            let date = Date(timeIntervalSince1970: seconds)
            #expect(
                UTCTimestamp.iso8601(date, fractionalSeconds: true)
                    == date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            )
            seconds += 7_654_321.987
        }
    }

    @Test("2025-11-29T18:00:00.125Z; milliseconds truncated, as Foundation has them")
    func example() {
        #expect(
            UTCTimestamp.iso8601(Date(timeIntervalSince1970: 1_764_439_200.125), fractionalSeconds: true)
                == "2025-11-29T18:00:00.125Z"
        )
        #expect(
            UTCTimestamp.iso8601(Date(timeIntervalSince1970: 1_764_439_200.999_9), fractionalSeconds: false)
                == "2025-11-29T18:00:00Z"
        )
    }
}
