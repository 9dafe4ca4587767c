import FoundationEssentials
import SQLParser
import WardenSupport

extension MigrationForecast {
    /// The forecast as DESIGN.md and issue 16 name its fields (more fields may be added).
    public var json: JSONValue {
        .object([
            ("taken_at", .string(Self.timestamp(takenAt))),
            ("source", .string(source)),
            ("parser", .string("libpg_query, PostgreSQL \(SQLParser.grammarVersion) grammar")),
            ("sampling_seconds", .seconds(samplingSeconds)),
            ("request_timeout_seconds", .seconds(requestTimeoutSeconds)),
            ("rehearsal", rehearsalJSON),
            ("statements", .array(statements.map(\.json))),
            ("warnings", .array(warnings.map(JSONValue.string))),
            ("not_forecast", .array(notForecast.map(JSONValue.string))),
        ])
    }

    private var rehearsalJSON: JSONValue {
        switch rehearsal {
        case nil: .null
        case .ran(let copy, let pgDump)?:
            .object([("ran", .bool(true)), ("copy", .string(copy)), ("pg_dump", .string(pgDump))])
        case .unavailable(let reason)?:
            .object([("ran", .bool(false)), ("reason", .string(reason))])
        }
    }

    /// `2026-11-29T18:00:00.123Z`.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension StatementForecast {
    var json: JSONValue {
        let analysis = analysis
        var heldUntil = "statement"
        var endsAt: Int?
        if case .transaction(let end) = self.heldUntil {
            heldUntil = "transaction"
            endsAt = end
        }
        return .object([
            ("number", .integer(number)),
            ("line", .integer(line)),
            ("sql", .string(sql)),
            ("kind", .string(analysis?.kind)),
            (
                "transaction",
                transactionBegin.map { begin in
                    .object([
                        ("begins_at", begin == 0 ? .null : .integer(begin)), ("ends_at", .integer(endsAt)),
                        ("whole_script", .bool(begin == 0)),
                    ])
                } ?? .null
            ),
            (
                "locks",
                .array(
                    (analysis?.locks ?? []).map { lock in
                        .object([
                            ("relation", .string(lock.relation)), ("mode", .string(lock.mode.name)),
                            ("held_until", .string(heldUntil)),
                            ("released_at", .integer(endsAt ?? (heldUntil == "statement" ? number : nil))),
                            ("reason", .string(lock.reason)), ("known", .bool(lock.facts != nil)),
                            ("source", .string(lock.source.rawValue)), ("certain", .bool(lock.isCertain)),
                            ("depends_on_rows", .bool(lock.dependsOnRows)),
                        ])
                    }
                )
            ),
            (
                "still_held",
                .array(
                    stillHeld.map {
                        .object([
                            ("relation", .string($0.relation)), ("mode", .string($0.mode.name)),
                            ("since", .integer($0.since)),
                        ])
                    }
                )
            ),
            ("rewrites", .array((analysis?.rewrites ?? []).map(\.json))),
            ("scans", .array((analysis?.scans ?? []).map(\.json))),
            ("relations", .array(relations)),
            ("conflicts_now", .array(conflicts.map(\.json))),
            ("verdict", .string(verdict)),
            ("request_impact", .string(requestImpact)),
            ("advice", .array((analysis?.advice ?? []).map(JSONValue.string))),
            ("notes", .array((analysis?.notes ?? []).map(JSONValue.string))),
            (
                "not_forecast",
                .string(
                    parseFailure.map { "line \($0.line), column \($0.column): \($0.message)" } ?? analysis?.notForecast
                )
            ),
        ])
    }

    private var relations: [JSONValue] {
        (analysis?.locks ?? []).compactMap { lock in
            guard let facts = lock.facts else { return nil }
            return .object([
                ("relation", .string(lock.relation)), ("bytes", .integer(Int(facts.bytes))),
                ("rows", .integer(Int(max(facts.rows, -1)))),
            ])
        }
    }
}

extension RelationWork {
    var json: JSONValue {
        .object([
            ("relation", .string(relation)), ("reason", .string(reason)),
            ("bytes", .integer(facts.map { Int($0.bytes) })), ("rows", .integer(facts.map { Int($0.rows) })),
        ])
    }
}

extension LiveLock {
    var json: JSONValue {
        .object([
            ("relation", .string(relation)), ("pid", .integer(Int(pid))), ("mode", .string(mode.name)),
            ("granted", .bool(granted)), ("state", .string(state)), ("xact_seconds", .seconds(transactionSeconds)),
            ("application_name", .string(applicationName)), ("query", .string(query)),
        ])
    }
}
