import Forecast
import Testing

@testable import Supervisor

@Suite("The progress of the statement holding a lock, against the forecast's estimate")
struct MigrationProgressTests {
    @Test("progress view, percentage and the time left by the forecast")
    func text() {
        let estimate = SecondsEstimate(low: 3, expected: 5, high: 10)
        let building = MigrationProgress(
            command: "CREATE INDEX",
            phase: "building index: scanning table",
            done: 400,
            total: 1000,
            runningSeconds: 2,
            estimate: estimate
        )
        #expect(
            building.text
                == "CREATE INDEX, building index: scanning table 40%; running 2s of ~5.0 s forecast, ~3.0 s left"
        )
        let late = MigrationProgress(runningSeconds: 12, estimate: estimate)
        #expect(late.text == "running 12s of ~5.0 s forecast, past the high estimate (10 s)")
        #expect(MigrationProgress(runningSeconds: 1).text == nil)
    }

    @Test("statements are matched by their words, whatever the spacing and the final semicolon")
    func keys() {
        #expect(MigrationProgress.key("CREATE INDEX  big_pad\n ON big (pad);") == "CREATE INDEX big_pad ON big (pad)")
    }
}
