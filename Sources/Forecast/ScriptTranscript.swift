import FoundationEssentials
import SQLParser

/// Follows a script statement by statement, as its session runs it: which transaction each statement is in, which
/// locks that transaction already holds, and when each statement's locks are released (COMMIT, ROLLBACK, a
/// savepoint rolled back to, COMMIT AND CHAIN). ``ForecastPlanner/plan(_:source:facts:live:requestTimeoutSeconds:singleTransaction:rehearsal:takenAt:)`` feeds it.
struct ScriptTranscript: Sendable {
    private var analyzer: StatementAnalyzer
    private var facts: CatalogFacts
    private let rehearsal: Rehearsal?
    private var forecasts: [StatementForecast] = []
    private var warnings: [String]
    private var created: Set<String> = []
    /// The open transaction: the statement that began it (0: the whole script) and the locks it holds so far.
    private var transaction: (begin: Int, held: [HeldLock])?
    /// The statements of the open transaction.
    private var members: [Int] = []
    private var savepoints = ForecastPlanner.SavepointStack()

    init(facts: CatalogFacts, rehearsal: Rehearsal?, singleTransaction: Bool) {
        analyzer = StatementAnalyzer(facts: facts)
        self.facts = facts
        self.rehearsal = rehearsal
        warnings = (rehearsal?.unavailableWarning.map { [$0] } ?? []) + (rehearsal?.warnings ?? [])
        transaction = singleTransaction ? (0, []) : nil
    }

    /// Whether the statements were rehearsed, or why not.
    var rehearsalStatus: Rehearsal.Status? { rehearsal?.status }

    /// The catalog facts for the statements added from now on: those read so far, a piece of the script at a time.
    mutating func use(_ facts: CatalogFacts) {
        self.facts = facts
        analyzer = StatementAnalyzer(facts: facts)
    }

    /// Makes room for `count` statements' forecasts.
    mutating func reserve(_ count: Int) {
        forecasts.reserveCapacity(count)
    }

    /// Forecasts `statement`, the next of the script.
    mutating func add(_ statement: ParsedStatement) {
        var forecast = StatementForecast(
            number: statement.number,
            sql: statement.sql,
            line: statement.line,
            transactionBegin: transaction?.begin,
            heldUntil: transaction == nil ? .statement : .transaction(endsAt: nil)
        )
        var joins = true
        switch statement.result {
        case .failure(let failure): parseFailed(statement.number, failure, &forecast)
        case .success(let tree): joins = analysed(statement.number, tree, &forecast)
        }
        if joins, transaction != nil || forecast.transactionBegin != nil { members.append(statement.number) }
        forecasts.append(forecast)
    }

    /// The statements' forecasts, and the warnings about the script as a whole.
    func finish() -> (forecasts: [StatementForecast], warnings: [String]) {
        var warnings = warnings
        if let transaction, transaction.begin == 0 {
            warnings += ForecastPlanner.heldWarnings(0, nil, forecasts, members)
        } else if let transaction {
            warnings.append(
                "the transaction begun by statement \(transaction.begin) is not ended by the script: its locks stay held until whoever runs it commits"
            )
        }
        return (forecasts, warnings)
    }

    private mutating func parseFailed(_ number: Int, _ failure: ParseFailure, _ forecast: inout StatementForecast) {
        let warning = ForecastPlanner.parseWarning(number, failure, serverVersion: facts.serverVersion)
        guard case .ran = rehearsal?.statements[number] else {
            forecast.parseFailure = failure
            warnings.append(warning)
            return
        }
        // PostgreSQL ran what the parser's grammar does not know: its locks are the rehearsal's.
        var analysis = StatementAnalysis(kind: "?").merging(rehearsal?.statements[number], facts: facts)
        analysis.notes.append(warning)
        forecast.analysis = analysis
        holdInTransaction(analysis, of: number, &forecast)
    }

    /// Returns whether the statement joins the open transaction (not a COMMIT AND CHAIN, which begins the next).
    private mutating func analysed(_ number: Int, _ tree: ParseNode, _ forecast: inout StatementForecast) -> Bool {
        let analysis = analyzer.analyse(tree, createdEarlier: created).merging(
            rehearsal?.statements[number],
            facts: facts
        )
        created.formUnion(analysis.creates)
        forecast.analysis = analysis
        if let reason = analysis.notForecast {
            warnings.append("statement \(number) is not forecast: \(reason)")
        }
        switch analysis.transactionControl {
        case .begin:
            transaction = (number, [])
            members = []
            forecast.transactionBegin = number
            forecast.heldUntil = .transaction(endsAt: nil)
        case .commit, .rollback, .prepare:
            return endTransaction(at: number, chains: analysis.chains, &forecast)
        case .savepoint, .release, .rollbackTo:
            guard var open = transaction else { break }
            let released = savepoints.apply(analysis.transactionControl, held: &open.held, members: &members)
            release(released, at: number)
            transaction = open
        case nil:
            if transaction != nil, analysis.refusesTransactionBlock {
                warnings.append("statement \(number) cannot run inside a transaction block: PostgreSQL will refuse it")
            }
            holdInTransaction(analysis, of: number, &forecast)
        }
        return true
    }

    private mutating func endTransaction(at number: Int, chains: Bool, _ forecast: inout StatementForecast) -> Bool {
        release(Set(members), at: number)
        if let transaction {
            forecast.heldUntil = .transaction(endsAt: number)
            warnings += ForecastPlanner.heldWarnings(transaction.begin, number, since(transaction.begin), members)
        }
        transaction = nil
        savepoints = ForecastPlanner.SavepointStack()
        guard chains, forecast.transactionBegin != nil else { return true }
        // COMMIT AND CHAIN: the next statements run in a new transaction, begun here.
        transaction = (number, [])
        members = []
        return false
    }

    /// The statements `numbers` hold their locks until statement `number`.
    private mutating func release(_ numbers: some Sequence<Int>, at number: Int) {
        let numbers = Set(numbers)
        guard let first = numbers.min() else { return }
        // The open transaction's statements are the last ones: a walk back to the first, not over the script.
        for index in forecasts.indices.reversed() {
            if forecasts[index].number < first { break }
            if numbers.contains(forecasts[index].number) { forecasts[index].heldUntil = .transaction(endsAt: number) }
        }
    }

    /// The forecasts from statement `number` on (those of the transaction it began).
    private func since(_ number: Int) -> ArraySlice<StatementForecast> {
        let start = forecasts.lastIndex { $0.number < number }.map { $0 + 1 } ?? forecasts.startIndex
        return forecasts[start...]
    }

    /// In an open transaction, the statement still holds what came before, and adds its own.
    private mutating func holdInTransaction(
        _ analysis: StatementAnalysis,
        of number: Int,
        _ forecast: inout StatementForecast
    ) {
        guard var open = transaction else { return }
        forecast.stillHeld = open.held.filter { held in held.mode >= .share }
        ForecastPlanner.accumulate(analysis.locks, of: number, into: &open.held)
        transaction = open
    }
}
