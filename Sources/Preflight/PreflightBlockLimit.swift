import Forecast
import Policy
import WardenSupport

/// `[preflight] max_block`: the blocks whose high estimate exceeds the limit, each a refusal that names the relation,
/// the statements and the estimate, with the safer forms of those statements; pure.
package enum PreflightBlockLimit {
    /// The refusals and the safer forms, for `forecast` under `limit`.
    package static func check(_ forecast: MigrationForecast, limit: PreflightPolicy.MaxBlock?) -> (
        refusals: [String], saferForms: [String]
    ) {
        guard let limit else { return ([], []) }
        let seconds: Double
        let name: String
        switch limit {
        case .duration(let duration):
            seconds = duration.seconds
            name = "max_block = \"\(DurationSyntax.format(seconds: seconds))\""
        case .requestTimeout:
            guard let timeout = forecast.requestTimeoutSeconds else {
                return (["max_block = \"request-timeout\" cannot be checked: no --request-timeout was given"], [])
            }
            seconds = timeout
            name = "max_block = \"request-timeout\" (\(DurationSyntax.format(seconds: timeout)))"
        }
        var refusals: [String] = []
        var safer: [String] = []
        for block in forecast.blocks {
            guard let estimate = block.estimate else {
                refusals.append(
                    "\(block.relation): \(block.blocks) blocked \(span(block)) for an unknown time"
                        + " (\(forecast.calibrationNote ?? "no calibration")), so \(name) cannot be checked"
                )
                continue
            }
            guard estimate.high > seconds else { continue }
            let work = block.parts.filter { $0.seconds.expected > 0 }.map { "\($0.label) \($0.seconds.text)" }
            let high: String = SecondsEstimate.format(estimate.high)
            let parts: String = work.isEmpty ? "" : ": " + work.joined(separator: ", ")
            let head: String = "\(block.relation): \(block.blocks) blocked \(span(block)) for up to \(high)"
            refusals.append(head + " (expected \(estimate.text)\(parts)), more than \(name)")
            for statement in forecast.statements
            where statement.number >= block.fromStatement && statement.number <= (block.untilStatement ?? Int.max) {
                for advice in statement.analysis?.advice ?? [] where !safer.contains(advice) { safer.append(advice) }
            }
            if !block.ownTransaction, !safer.contains(transactionAdvice) { safer.append(transactionAdvice) }
        }
        return (refusals, safer)
    }

    /// What shortens a block that spans a transaction.
    static let transactionAdvice =
        "run the statements that rewrite, scan or build in transactions of their own, so that no lock is held across them"

    private static func span(_ block: LockBlock) -> String {
        if block.ownTransaction { return "by statement \(block.fromStatement)" }
        return "by statements \(block.fromStatement) to \(block.untilStatement.map(String.init) ?? "the end")"
    }
}
