import Testing

@testable import Reload

/// A gunicorn worker's heartbeat file, read as gunicorn 20 and later versions touch it.
@Suite("gunicorn's heartbeat")
struct GunicornHeartbeatTests {
    /// Booted at 1,000,000 s since the epoch; the worker started 500 s later (50,000 ticks of 10 ms).
    static let untouched = GunicornHeartbeat.Reading(
        mode: 0o100600,
        modified: 1_000_499.995,
        changed: 1_000_499.995,
        startTicks: 50_000,
        ticksPerSecond: 100,
        bootedAt: 1_000_000
    )

    @Test("a file as the master created it is no beat")
    func untouched() {
        #expect(!Self.untouched.hasBeaten)
    }

    @Test("gunicorn 20 flips the mode to 1, then 0: a beat, though within the tick of the fork")
    func spinner() {
        for mode: UInt32 in [0o100001, 0o100000] {
            var reading = Self.untouched
            reading.mode = mode
            reading.changed = 1_000_500.004
            #expect(reading.hasBeaten, "mode \(String(mode, radix: 8))")
        }
    }

    @Test("later versions set the times to time.monotonic(): a modification before the boot is a beat")
    func monotonic() {
        var reading = Self.untouched
        reading.modified = 500.004
        reading.changed = 1_000_500.004
        #expect(reading.hasBeaten)
    }

    @Test("otherwise a status change two ticks after the start is a beat, and within them none")
    func statusChange() {
        var reading = Self.untouched
        reading.changed = 1_000_500.03
        #expect(reading.hasBeaten)
        reading.changed = 1_000_500.01
        #expect(!reading.hasBeaten)
    }
}
