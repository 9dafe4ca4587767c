import Testing

@testable import Forecast

/// How a statement's rehearsal replaces or annotates its static analysis.
@Suite("The rehearsal merged into the static analysis")
struct RehearsalMergeTests {
    @Test("not run for user code: static locks, said why, and not forecast, so that a refusal key cannot pass it")
    func unseenCode() {
        let analysis = StatementAnalysis(kind: "SELECT")
        let merged = analysis.merging(.unseenCode(reason: "it calls adv_kill()"), facts: CatalogFacts())
        #expect(merged.notes.contains { $0.hasPrefix("not rehearsed (it calls adv_kill())") })
        #expect(merged.notForecast?.contains("not PostgreSQL's own") == true)
        let other = analysis.merging(.notRun(reason: "it failed on the schema-only copy: x"), facts: CatalogFacts())
        #expect(other.notForecast == nil, "a statement the copy refused keeps its static forecast")
    }
}
