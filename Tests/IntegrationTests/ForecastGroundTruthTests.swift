import Forecast
import ForecastInspection
import Foundation
import LockInspection
import Postgres
import SQLParser
import TestSupport
import Testing

/// The forecast's lock table checked against PostgreSQL itself: each statement of the corpus runs in a transaction
/// that is rolled back, and the strongest mode per table in that backend's own `pg_locks` must be the forecast's.
@Suite("Forecast lock modes against pg_locks", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct ForecastGroundTruthTests {
    @Test("the corpus covers every family, with at least 300 statements")
    func corpusSize() {
        #expect(ForecastCorpus.statements.count >= 300, "\(ForecastCorpus.statements.count)")
    }

    /// The forecast as pgwarden makes it (rehearsal on a schema-only copy, static analysis for what depends on rows
    /// and what the rehearsal cannot run), of every corpus statement in a transaction of its own that rolls back.
    private func forecast(on database: ScratchDatabase) async throws -> MigrationForecast {
        var forecaster = MigrationForecaster(
            connectionString: database.connectionString,
            sampling: .milliseconds(10),
            requestTimeout: nil,
            logger: TestCluster.logger
        )
        forecaster.rehearser = Rehearser(
            connectionString: database.connectionString,
            rehearseConnectionString: nil,
            runID: "ground_truth_" + String(UInt32.random(in: 0...UInt32.max), radix: 16),
            logger: TestCluster.logger
        )
        let script = ForecastCorpus.statements.map { "BEGIN;\n\($0);\nROLLBACK;\n" }.joined()
        return try await forecaster.forecast(script: script, source: "corpus")
    }

    @Test(
        "for every statement of the corpus, the strongest mode per table equals PostgreSQL's own: the certain locks exactly, a lock that depends on rows only where rows qualify"
    )
    func strongestModePerTable() async throws {
        try await ScratchDatabase.with { database in
            let setup = try await database.session("pgwarden-tests-setup")
            for statement in SQLParser.parse(ForecastCorpus.schema) { _ = try await setup.query(statement.sql) }
            await setup.close()
            let forecast = try await forecast(on: database)
            guard case .ran = forecast.rehearsal else {
                Issue.record("no rehearsal: \(String(describing: forecast.rehearsal))")
                return
            }
            #expect(forecast.statements.count == 3 * ForecastCorpus.statements.count)
            let runner = try await database.session("pgwarden-tests-ground-truth")
            var mismatches: [String] = []
            var rehearsed = 0
            for (index, sql) in ForecastCorpus.statements.enumerated() {
                let locks = forecast.statements[3 * index + 1].analysis?.locks ?? []
                if locks.contains(where: \.isCertain)
                    || forecast.statements[3 * index + 1].analysis?.notes
                        .contains(where: { $0.hasPrefix("not rehearsed") }) == false
                {
                    rehearsed += 1
                }
                let actual: (modes: [String: LockMode], kinds: [String: Character])
                do {
                    actual = try await locksTaken(by: sql, on: runner)
                } catch {
                    mismatches.append("\(sql)\n    PostgreSQL refused it: \(error)")
                    continue
                }
                if let mismatch = Self.compare(locks, actual.modes, kinds: actual.kinds) {
                    mismatches.append("\(sql)\n    \(mismatch)")
                }
            }
            await runner.close()
            #expect(
                mismatches.isEmpty,
                Comment(rawValue: "\(mismatches.count) statements:\n" + mismatches.joined(separator: "\n"))
            )
            #expect(rehearsed > ForecastCorpus.statements.count * 9 / 10, "\(rehearsed) rehearsed")
        }
    }

    /// Per table: PostgreSQL's mode must be the certain locks' strongest, or the mode of a lock the forecast said
    /// depends on rows (or could not rehearse); a certain lock PostgreSQL did not take is a mismatch too.
    static func compare(_ locks: [RelationLock], _ actual: [String: LockMode], kinds: [String: Character]) -> String? {
        var certain: [String: LockMode] = [:]
        var possible: [String: Set<LockMode>] = [:]
        for lock in locks {
            let name = lock.relation.contains(".") ? lock.relation : "public." + lock.relation
            guard let kind = kinds[name], tableKinds.contains(kind) else { continue }
            if lock.isCertain {
                certain[name] = max(certain[name] ?? lock.mode, lock.mode)
            } else {
                possible[name, default: []].insert(lock.mode)
            }
        }
        var wrong: [String] = []
        // The session's own temporary relations: no other session can hold them; the forecast notes them.
        for name in Set(certain.keys).union(actual.keys).union(possible.keys).sorted() where !name.hasPrefix("pg_temp")
        {
            let mode = actual[name]
            if mode == certain[name] { continue }
            if let mode, possible[name]?.contains(mode) == true, mode >= (certain[name] ?? .accessShare) { continue }
            if mode == nil, certain[name] == nil { continue }  // an uncertain lock not taken here
            wrong.append(
                "\(name): pg_locks \(mode?.name ?? "none"), forecast \(certain[name]?.name ?? "none")"
                    + (possible[name].map {
                        " (or if rows qualify: \($0.map(\.name).sorted().joined(separator: ", ")))"
                    } ?? "")
            )
        }
        return wrong.isEmpty ? nil : wrong.joined(separator: "; ")
    }

    @Test("CONCURRENTLY, outside a transaction block: the locks it holds while it waits equal the forecast's")
    func concurrentStatements() async throws {
        try await ScratchDatabase.with { database in
            let setup = try await database.session("pgwarden-tests-setup")
            for statement in SQLParser.parse(ForecastCorpus.schema) { _ = try await setup.query(statement.sql) }
            await setup.close()
            let (inspector, _) = try await InspectorSession.open(
                connectionString: database.connectionString,
                names: .role,
                logger: TestCluster.logger
            )
            let observer = try await database.session("pgwarden-tests-observer")
            var mismatches: [String] = []
            for (sql, table) in ForecastCorpus.concurrentStatements {
                let parsed = SQLParser.parse(sql)
                let facts = try await CatalogReader.read(for: parsed, on: inspector)
                let forecast = ForecastPlanner.plan(parsed, source: "corpus", facts: facts, takenAt: Date())
                // An older transaction that writes the table: the statement waits for it, holding its locks.
                let older = try await database.session("pgwarden-tests-older")
                _ = try await older.query("BEGIN")
                _ = try await older.query("UPDATE \(table) SET id = id WHERE false")
                let running = try await database.startBlockedStatement(sql, "pgwarden-tests-concurrently")
                try await database.waitUntilWaiting(running.pid, observer: observer)
                let actual = try await heldLocks(of: running.pid, on: observer)
                _ = try await older.query("ROLLBACK")
                try await running.task.value
                await running.session.close()
                await older.close()
                let predicted = strongest(forecast.statements.first?.analysis?.locks ?? [], kinds: actual.kinds)
                if predicted != actual.modes {
                    mismatches.append(
                        "\(sql)\n    forecast \(describe(predicted))\n    pg_locks \(describe(actual.modes))"
                    )
                }
            }
            await observer.close()
            await inspector.close()
            #expect(mismatches.isEmpty, Comment(rawValue: mismatches.joined(separator: "\n")))
        }
    }

    /// The granted relation locks of another backend, strongest per table.
    private func heldLocks(of pid: Int32, on observer: Connection) async throws
        -> (modes: [String: LockMode], kinds: [String: Character])
    {
        let rows = try await observer.query(
            """
            SELECT n.nspname || '.' || c.relname AS name, c.relkind::text AS kind, l.mode
            FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted
            """,
            [pid]
        )
        var modes: [String: LockMode] = [:]
        var kinds: [String: Character] = [:]
        for row in rows.rows {
            let name = try row.require(String.self, "name")
            let kind = Character(try row.require(String.self, "kind"))
            kinds[name] = kind
            guard Self.tableKinds.contains(kind), let mode = LockMode(name: try row.require(String.self, "mode")) else {
                continue
            }
            modes[name] = max(modes[name] ?? mode, mode)
        }
        let all = try await observer.query(
            "SELECT n.nspname || '.' || c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        )
        for row in all.rows {
            kinds[try row.require(String.self, "name")] = Character(try row.require(String.self, "kind"))
        }
        return (modes, kinds)
    }

    /// The strongest mode per table, view and materialized view of the forecast.
    private func strongest(_ locks: [RelationLock], kinds: [String: Character]) -> [String: LockMode] {
        var modes: [String: LockMode] = [:]
        for lock in locks {
            let name = lock.relation.contains(".") ? lock.relation : "public." + lock.relation
            guard let kind = kinds[name], Self.tableKinds.contains(kind) else { continue }
            modes[name] = max(modes[name] ?? lock.mode, lock.mode)
        }
        return modes
    }

    static let tableKinds: Set<Character> = ["r", "p", "v", "m", "f"]

    /// Runs `sql` in a transaction, reads the backend's own relation locks, and rolls back.
    /// (The Django fixture's tests use it too.)
    func locksTaken(by sql: String, on session: Connection) async throws
        -> (modes: [String: LockMode], kinds: [String: Character])
    {
        let catalog = """
            SELECT c.oid::int8 AS oid, n.nspname || '.' || c.relname AS name, c.relkind::text AS kind
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema')
            """
        _ = try await session.query("BEGIN")
        var names: [Int: (String, Character)] = [:]
        for row in try await session.query(catalog).rows {
            names[try row.require(Int.self, "oid")] = (
                try row.require(String.self, "name"), Character(try row.require(String.self, "kind"))
            )
        }
        do {
            _ = try await session.query(sql)
        } catch {
            _ = try? await session.query("ROLLBACK")
            throw error
        }
        // Relations the statement created; a renamed one keeps the name the forecast knows it by.
        for row in try await session.query(catalog).rows where names[try row.require(Int.self, "oid")] == nil {
            names[try row.require(Int.self, "oid")] = (
                try row.require(String.self, "name"), Character(try row.require(String.self, "kind"))
            )
        }
        let locks = try await session.query(
            "SELECT relation::int8 AS oid, mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted"
        )
        _ = try await session.query("ROLLBACK")
        var modes: [String: LockMode] = [:]
        var kinds: [String: Character] = [:]
        for (_, (name, kind)) in names { kinds[name] = kind }
        for row in locks.rows {
            guard let (name, kind) = names[try row.require(Int.self, "oid")], Self.tableKinds.contains(kind),
                let mode = LockMode(name: try row.require(String.self, "mode"))
            else { continue }
            modes[name] = max(modes[name] ?? mode, mode)
        }
        return (modes, kinds)
    }

    private func describe(_ modes: [String: LockMode]) -> String {
        modes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.name)" }.joined(separator: ", ")
    }
}
