import FoundationEssentials
import SQLParser
import WardenSupport

extension MigrationForecast {
    /// The forecast as DESIGN.md and issue 16 name its fields (more fields may be added).
    package var json: JSONValue { .object(jsonMembers(statements: .array(statements.map(\.json)))) }

    /// ``json`` pretty or compact, handed to `flush` a megabyte at a time: each statement's JSON is made as it is
    /// written, never the whole forecast's at once.
    package func writeJSON(pretty: Bool, flush: (inout [UInt8]) -> Void) {
        JSONValue.writeObject(
            jsonMembers(statements: .null),
            streaming: "statements",
            count: statements.count,
            element: { statements[$0].json },
            pretty: pretty,
            flush: flush
        )
    }

    private func jsonMembers(statements: JSONValue) -> [(String, JSONValue)] {
        [
            ("taken_at", .string(Self.timestamp(takenAt))),
            ("source", .string(source)),
            ("parser", .string("libpg_query, PostgreSQL \(SQLParser.grammarVersion) grammar")),
            ("sampling_seconds", .seconds(samplingSeconds)),
            ("request_timeout_seconds", .seconds(requestTimeoutSeconds)),
            ("rehearsal", rehearsalJSON),
            ("calibration", calibrationJSON),
            ("blocks", .array(blocks.map { $0.json(timeout: requestTimeoutSeconds) })),
            ("statements", statements),
            ("warnings", .array(warnings.map(JSONValue.string))),
            ("not_forecast", .array(notForecast.map(JSONValue.string))),
        ]
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

    private var calibrationJSON: JSONValue {
        guard let calibration else { return calibrationNote.map { .object([("unavailable", .string($0))]) } ?? .null }
        return .object([
            ("server", .string(calibration.server)), ("major", .integer(calibration.major)),
            ("measured_at", .string(Self.timestamp(calibration.measuredAt))),
            ("table_bytes", .integer(Int(calibration.tableBytes))),
            ("scan_bytes_per_second", .integer(Int(calibration.scanBytesPerSecond))),
            ("rewrite_bytes_per_second", .integer(Int(calibration.rewriteBytesPerSecond))),
            ("index_build_bytes_per_second", .integer(Int(calibration.indexBuildBytesPerSecond))),
            ("text_index_build_bytes_per_second", .integer(Int(calibration.textIndexBuildBytesPerSecond))),
            ("foreign_key_bytes_per_second", .integer(Int(calibration.foreignKeyBytesPerSecond))),
            ("took_seconds", .seconds(calibration.tookSeconds)),
            ("read_scan_bytes_per_second", .integer(calibration.readScanBytesPerSecond.map { Int($0) })),
            ("shared_buffers_bytes", .integer(calibration.sharedBufferBytes)),
            ("heap_copy_bytes_per_second", .integer(calibration.heapCopyBytesPerSecond.map { Int($0) })),
            ("note", .string(calibrationNote)),
        ])
    }

    /// `2026-11-29T18:00:00.123Z`.
    package static func timestamp(_ date: Date) -> String {
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
            ("estimated_seconds", estimatedSeconds?.json ?? .null),
            (
                "estimate_parts",
                .array(
                    estimateParts.map {
                        .object([("work", .string($0.label)), ("estimated_seconds", $0.seconds.json)])
                    }
                )
            ),
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

extension SecondsEstimate {
    /// `{"low": …, "expected": …, "high": …}`.
    var json: JSONValue {
        .object([("low", .seconds(low)), ("expected", .seconds(expected)), ("high", .seconds(high))])
    }
}

extension LockBlock {
    func json(timeout: Double?) -> JSONValue {
        .object([
            ("relation", .string(relation)), ("blocks", .string(blocks)),
            ("from_statement", .integer(fromStatement)), ("until_statement", .integer(untilStatement)),
            ("estimated_seconds", estimate?.json ?? .null),
            (
                "work",
                .array(parts.map { .object([("work", .string($0.label)), ("estimated_seconds", $0.seconds.json)]) })
            ),
            ("unknown_size_statements", .array(unknown.map { .integer($0) })),
            ("requests_per_second", .seconds(requestsPerSecond)),
            ("outlasts_request_timeout", timeout.map { .bool(outlasts($0)) } ?? .null),
            ("requests_killed", .seconds(timeout.flatMap { requestsKilled(by: $0) })),
        ])
    }
}
