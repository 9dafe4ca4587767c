import FoundationEssentials
import SQLParser

/// A forecast planned a piece of the script at a time: each piece's statements are analysed with the catalog facts
/// read so far (those of its own relations included) and their parse trees can go at once, so that a long script's
/// trees never exist together. ``ForecastPlanner/plan(_:source:facts:live:requestTimeoutSeconds:singleTransaction:rehearsal:takenAt:)``
/// is one piece of it.
package struct ForecastDraft: Sendable {
    private var transcript: ScriptTranscript

    /// - Parameter singleTransaction: the script runs as one transaction (`psql --single-transaction`, Flyway).
    package init(facts: CatalogFacts, rehearsal: Rehearsal?, singleTransaction: Bool) {
        transcript = ScriptTranscript(facts: facts, rehearsal: rehearsal, singleTransaction: singleTransaction)
    }

    /// Makes room for the forecasts of `count` statements at once: the array of a million statements' forecasts,
    /// grown by doubling, would hold its old and new storage together at each step (a third of the peak).
    package mutating func reserve(_ count: Int) {
        transcript.reserve(count)
    }

    /// Forecasts the next statements of the script, with `facts` (those of the pieces before, and of these).
    package mutating func add(_ statements: [ParsedStatement], facts: CatalogFacts) {
        transcript.use(facts)
        for statement in statements { transcript.add(statement) }
    }

    /// The forecast of the statements added, judged against `live`.
    package func forecast(source: String, live: LiveFacts, requestTimeoutSeconds: Double?, takenAt: Date)
        -> MigrationForecast
    {
        var forecast = unjudged(source: source, takenAt: takenAt)
        for index in forecast.statements.indices {
            ForecastPlanner.judge(
                &forecast.statements[index],
                live: live,
                requestTimeoutSeconds: requestTimeoutSeconds
            )
        }
        forecast.samplingSeconds = live.samplingSeconds
        forecast.requestTimeoutSeconds = requestTimeoutSeconds
        return forecast
    }

    /// The forecast of the statements added, not judged yet: for ``MigrationForecast/judged(live:requestTimeoutSeconds:)``
    /// once the live facts are read (judging it twice would cost a pass over a million statements).
    package func unjudged(source: String, takenAt: Date) -> MigrationForecast {
        let planned = transcript.finish()
        return MigrationForecast(
            takenAt: takenAt,
            source: source,
            statements: planned.forecasts,
            warnings: planned.warnings,
            samplingSeconds: 0,
            requestTimeoutSeconds: nil,
            rehearsal: transcript.rehearsalStatus
        )
    }
}
