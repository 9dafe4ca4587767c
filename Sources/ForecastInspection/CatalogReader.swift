import Forecast
import FoundationEssentials
import PGWardenSQL
import Postgres
import SQLParser

/// Reads the catalog facts a forecast needs, once, on pgwarden's own session (its timeouts apply).
/// Only catalog reads: no lock stronger than AccessShareLock, and none of the migration's statements.
package enum CatalogReader {
    /// The facts of every relation `statements` name, of the relations those facts mention, of the type changes
    /// and column defaults they ask for.
    /// `also` names more relations by key (those the rehearsal locked).
    package static func read(for statements: [ParsedStatement], also: [String] = [], on connection: Connection)
        async throws(PostgresError) -> CatalogFacts
    {
        try await read(for: statements, also: also, adding: nil, on: connection)
    }

    /// ``read(for:also:on:)`` for one piece of a script, added to `known` (the facts of the pieces before): only
    /// what `known` lacks is read. The relations mentioned are followed three deep from each piece's names, as
    /// from the whole script's.
    package static func read(
        for statements: [ParsedStatement],
        also: [String] = [],
        adding known: CatalogFacts?,
        on connection: Connection
    ) async throws(PostgresError) -> CatalogFacts {
        let serverVersion = await connection.serverVersion
        var facts = known ?? CatalogFacts(serverVersion: serverVersion)
        var layer: [String: RelationFacts] = [:]
        var wanted = ForecastPlanner.mentionedRelations(statements)
        for key in also where !wanted.contains(key) { wanted.append(key) }
        for _ in 0..<3 where !wanted.isEmpty {
            let missing = wanted.filter { facts.relations[$0] == nil }
            var read: [String: RelationFacts] = [:]
            if !missing.isEmpty { read = try await readRelations(missing, on: connection) }
            for (key, relation) in read {
                facts.relations[key] = relation
                layer[key] = relation
            }
            for key in wanted { layer[key] = facts.relations[key] }
            wanted = ForecastPlanner.mentionedByFacts(layer)
        }
        let changes = ForecastPlanner.typeChanges(statements, relations: facts.relations)
            .filter { facts.typeConversions[$0] == nil }
        let conversions = try await readTypeConversions(changes, on: connection)
        facts.typeConversions.merge(conversions) { $1 }
        let functions = ForecastPlanner.defaultFunctions(statements)
        if !functions.isEmpty {
            let rows = try await connection.query(Queries.forecastFunctionVolatility, [ArrayLiteral.text(functions)])
                .rows
            for row in rows { facts.nonVolatileFunctions.insert(try row.require(String.self, "name")) }
        }
        return facts
    }

    private static func readRelations(_ keys: [String], on connection: Connection) async throws(PostgresError)
        -> [String: RelationFacts]
    {
        let result = try await connection.query(Queries.forecastRelations, [ArrayLiteral.text(keys)])
        var relations: [String: RelationFacts] = [:]
        for row in result.rows {
            let requested = try row.require(String.self, "requested")
            let text = try row.require(String.self, "facts")
            let decoded: RelationFactsRow
            do {
                decoded = try JSONDecoder().decode(RelationFactsRow.self, from: Data(text.utf8))
            } catch {
                throw PostgresError(
                    code: .unexpectedResult,
                    message: "forecast_relations.sql returned facts it cannot read: \(error)"
                )
            }
            relations[requested] = decoded.relation
            relations[decoded.key] = decoded.relation
        }
        return relations
    }

    private static func readTypeConversions(_ changes: [TypeChange], on connection: Connection)
        async throws(PostgresError)
        -> [TypeChange: TypeConversion]
    {
        guard !changes.isEmpty else { return [:] }
        let result = try await connection.query(
            Queries.forecastTypeConversions,
            [ArrayLiteral.oids(changes.map(\.sourceOID)), ArrayLiteral.text(changes.map(\.target))]
        )
        var conversions: [TypeChange: TypeConversion] = [:]
        for row in result.rows {
            let change = TypeChange(
                sourceOID: UInt32(try row.require(Int.self, "source")),
                target: try row.require(String.self, "target")
            )
            conversions[change] = TypeConversion(
                targetOID: UInt32(try row.require(Int.self, "target_oid")),
                binaryCoercible: try row.require(Bool.self, "binary_coercible")
            )
        }
        return conversions
    }
}

/// PostgreSQL array literals for text parameters.
enum ArrayLiteral {
    /// `{"a","b \"c\""}`: every element double-quoted, quotes and backslashes escaped.
    static func text(_ values: [String]) -> String {
        "{"
            + values.map {
                "\"" + $0.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
                    + "\""
            }
            .joined(separator: ",") + "}"
    }

    /// `{1,2,3}`.
    static func oids(_ values: [UInt32]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }
}
