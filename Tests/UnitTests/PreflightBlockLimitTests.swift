import Forecast
import Foundation
import Policy
import Preflight
import SQLParser
import Testing

@Suite("[preflight] max_block: a block whose high estimate exceeds the limit refuses the run")
struct PreflightBlockLimitTests {
    static func forecast(timeout: Double?) -> MigrationForecast {
        ForecastPlanner.plan(
            SQLParser.parse(LockBlocksTests.script),
            source: "t",
            facts: LockBlocksTests.facts,
            takenAt: Date()
        )
        .judged(live: LiveFacts(), requestTimeoutSeconds: timeout)
        .estimated(calibration: DurationEstimateTests.calibration, note: "calibrated")
    }

    @Test("a duration: each block over it named with its statements and estimate, the safer forms gathered")
    func duration() {
        let result = PreflightBlockLimit.check(Self.forecast(timeout: nil), limit: .duration(.seconds(5)))
        #expect(result.refusals.count == 1, "\(result.refusals)")
        let refusal = result.refusals.first ?? ""
        #expect(
            refusal.hasPrefix(
                "public.release: reads and writes blocked by statements 2 to 5 for up to 29 s (expected ~14 s: rewrite 200 MB ~4.0 s"
            ),
            "\(refusal)"
        )
        #expect(refusal.hasSuffix("more than max_block = \"5s\""), "\(refusal)")
        #expect(result.saferForms.contains { $0.contains("NOT VALID") }, "\(result.saferForms)")
        #expect(result.saferForms.contains { $0.contains("CONCURRENTLY") }, "\(result.saferForms)")
        // SET NOT NULL alone: up to 2 s, under the limit.
        #expect(PreflightBlockLimit.check(Self.forecast(timeout: nil), limit: .duration(.seconds(30))).refusals.isEmpty)
    }

    @Test("request-timeout: the run's --request-timeout; without one, it cannot be checked")
    func requestTimeout() {
        let refused = PreflightBlockLimit.check(Self.forecast(timeout: 1), limit: .requestTimeout).refusals
        #expect(refused.count == 3)  // release in the transaction, parent, and release again by SET NOT NULL
        #expect(refused.allSatisfy { $0.hasSuffix("more than max_block = \"request-timeout\" (1s)") }, "\(refused)")
        let unchecked = PreflightBlockLimit.check(Self.forecast(timeout: nil), limit: .requestTimeout).refusals
        #expect(unchecked == ["max_block = \"request-timeout\" cannot be checked: no --request-timeout was given"])
    }

    @Test("no calibration: a block of unknown length cannot be checked, and refuses")
    func uncalibrated() {
        let forecast = ForecastPlanner.plan(
            SQLParser.parse(LockBlocksTests.script),
            source: "t",
            facts: LockBlocksTests.facts,
            takenAt: Date()
        ).estimated(calibration: nil, note: "no estimate in seconds: no CREATEDB")
        let refusals = PreflightBlockLimit.check(forecast, limit: .duration(.seconds(5))).refusals
        #expect(!refusals.isEmpty)
        #expect(refusals.allSatisfy { $0.contains("cannot be checked") })
    }
}
