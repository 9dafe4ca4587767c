import Forecast
import Foundation
import SQLParser
import Testing

/// Until when locks are held across COMMIT AND CHAIN and savepoints (issue 24).
@Suite("The forecast: held until, with chained transactions and savepoints")
struct ForecastHeldUntilTests {
    private func forecast(_ sql: String) -> MigrationForecast {
        ForecastPlanner.plan(SQLParser.parse(sql), source: "test", facts: ForecastPlannerTests.facts, takenAt: Date())
    }

    @Test(
        "COMMIT AND CHAIN ends the transaction's locks and begins a new transaction: the next locks are held to its COMMIT"
    )
    func commitAndChain() {
        let result = forecast(
            "BEGIN;\nALTER TABLE orders ADD COLUMN x int;\nCOMMIT AND CHAIN;\nALTER TABLE orders ADD COLUMN y int;\nCOMMIT;\nSELECT 1;"
        )
        #expect(
            result.statements.map(\.heldUntil) == [
                .transaction(endsAt: 3), .transaction(endsAt: 3), .transaction(endsAt: 3), .transaction(endsAt: 5),
                .transaction(endsAt: 5), .statement,
            ]
        )
        #expect(result.statements[3].transactionBegin == 3)
        #expect(result.statements[3].stillHeld.isEmpty, "the first transaction's lock ended at the chain")
        let text = ForecastRenderer(visible: { $0 }).render(result)
        #expect(text.contains("until COMMIT AND CHAIN at statement 3"), Comment(rawValue: text))
        #expect(text.contains("until COMMIT at statement 5"), Comment(rawValue: text))
    }

    @Test("ROLLBACK TO SAVEPOINT releases the locks taken since the savepoint: held until it, not until COMMIT")
    func rollbackToSavepoint() {
        let result = forecast(
            """
            BEGIN;
            ALTER TABLE customers ADD COLUMN a int;
            SAVEPOINT s;
            ALTER TABLE orders ADD COLUMN x int;
            ROLLBACK TO SAVEPOINT s;
            ALTER TABLE events ADD COLUMN y int;
            RELEASE SAVEPOINT s;
            COMMIT;
            """
        )
        #expect(result.statements[1].heldUntil == .transaction(endsAt: 8))
        #expect(result.statements[3].heldUntil == .transaction(endsAt: 5))
        #expect(result.statements[5].heldUntil == .transaction(endsAt: 8))
        #expect(
            result.statements[5].stillHeld.map(\.relation) == ["customers"],
            "orders' lock was released by ROLLBACK TO"
        )
        let text = ForecastRenderer(visible: { $0 }).render(result)
        #expect(text.contains("until ROLLBACK TO SAVEPOINT at statement 5"), Comment(rawValue: text))
    }
}
