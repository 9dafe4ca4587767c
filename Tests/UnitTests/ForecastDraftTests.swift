import Forecast
import Foundation
import SQLParser
import Testing

/// A long script is planned a piece at a time (``ForecastDraft``) and written a statement at a time: the forecast,
/// its JSON and its text must be those of the script planned and written whole.
@Suite("The forecast planned a piece at a time and written a statement at a time")
struct ForecastDraftTests {
    /// Transactions, a savepoint rolled back to and blocks that cross the 4 KB pieces, between filler updates.
    private static let script: String = {
        let filler = (0..<60).map { "UPDATE release SET n = \($0) WHERE n = \($0);\n" }.joined()
        return filler + LockBlocksTests.script + "\n" + filler + """
            BEGIN;
            ALTER TABLE release ADD COLUMN x int;
            SAVEPOINT s;
            ALTER TABLE parent ADD COLUMN y int;
            ROLLBACK TO SAVEPOINT s;
            """ + filler + "COMMIT;\nALTER TABLE t ADD COLUMN b intt intt;\n" + filler
    }()

    private static func judged(_ forecast: MigrationForecast) -> MigrationForecast {
        forecast.judged(live: LiveFacts(samplingSeconds: 1), requestTimeoutSeconds: 30)
            .estimated(calibration: DurationEstimateTests.calibration, note: "calibrated")
    }

    private static let takenAt = Date(timeIntervalSince1970: 1_800_000_000)

    private static func whole() -> MigrationForecast {
        judged(
            ForecastPlanner.plan(SQLParser.parse(script), source: "t", facts: LockBlocksTests.facts, takenAt: takenAt)
        )
    }

    @Test("planned in 4 KB pieces: the same statements, transactions, blocks and warnings as planned whole")
    func piecesPlanLikeTheWhole() {
        var pieces = SQLParser.ScriptPieces(Self.script, pieceBytes: 4096)
        var draft = ForecastDraft(facts: LockBlocksTests.facts, rehearsal: nil, singleTransaction: false)
        draft.reserve(pieces.expectedStatements)
        var count = 0
        while let piece = pieces.next() {
            count += 1
            draft.add(piece, facts: LockBlocksTests.facts)
        }
        #expect(count >= 3)
        var inPieces = Self.judged(
            draft.forecast(source: "t", live: LiveFacts(), requestTimeoutSeconds: nil, takenAt: Self.takenAt)
        )
        var whole = Self.whole()
        inPieces.takenAt = Self.takenAt
        whole.takenAt = Self.takenAt
        #expect(whole.statements.count == 253)
        #expect(pieces.expectedStatements >= 253)
        #expect(!whole.blocks.isEmpty)
        #expect(inPieces.json.serialized(pretty: true) == whole.json.serialized(pretty: true))
    }

    @Test("the JSON written a statement at a time is the forecast's JSON, byte for byte")
    func streamedJSON() {
        var forecast = Self.whole()
        forecast.takenAt = Self.takenAt
        for pretty in [true, false] {
            var written: [UInt8] = []
            var flushes = 0
            forecast.writeJSON(pretty: pretty) { bytes in
                written += bytes
                bytes.removeAll(keepingCapacity: true)
                flushes += 1
            }
            #expect(flushes >= 1)
            #expect(written == forecast.json.serializedBytes(pretty: pretty))
        }
    }

    @Test("the text written some lines at a time is the forecast's text")
    func streamedText() {
        let forecast = Self.whole()
        let renderer = ForecastRenderer(visible: { $0 })
        var chunks: [String] = []
        renderer.render(forecast) { chunks.append($0) }
        #expect(chunks.joined(separator: "\n") == renderer.render(forecast))
        #expect(renderer.render(forecast).contains("warning: "))
    }
}
