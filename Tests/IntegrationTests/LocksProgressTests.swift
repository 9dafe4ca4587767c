import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden locks` on a root blocker that builds an index under AccessExclusiveLock, a reader queued behind it: the
/// progress PostgreSQL reports, and the time its phase has left (text, --json, and the --watch view in tmux).
@Suite(
    "pgwarden locks: a root blocker's progress",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason)
)
struct LocksProgressTests {
    /// The migration: `big` (40,000 rows) locked in ACCESS EXCLUSIVE mode, then an index built on an expression
    /// that sleeps 2 ms a row, so that its table scan lasts over a minute whatever the machine (a real build on
    /// 1.5 M rows ended before a loaded CI's view was drawn); a reader queued behind it. Cancelled once seen.
    struct Building {
        let migrationPID: Int32
        let build: Task<Void, any Error>
        let reader: (pid: Int32, session: Connection, task: Task<Void, any Error>)
        let observer: Connection

        func finish() async throws {
            _ = try await observer.query("SELECT pg_cancel_backend(\(migrationPID))")
            _ = await build.result
            try await reader.task.value
            await reader.session.close()
            await observer.close()
        }
    }

    static func startBuilding(in database: ScratchDatabase) async throws -> Building {
        let setup = try await database.session("setup")
        _ = try await setup.query("CREATE TABLE big (id bigint PRIMARY KEY, n int, pad text)")
        _ = try await setup.query(
            "INSERT INTO big SELECT g, g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 40000) AS g"
        )
        _ = try await setup.query("VACUUM ANALYZE big")
        _ = try await setup.query(
            "CREATE FUNCTION slow_md5(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN md5(t); END $$"
        )
        await setup.close()
        let migration = try await database.session("migration")
        let migrationPID = await migration.backendPID
        _ = try await migration.query("BEGIN")
        _ = try await migration.query("LOCK TABLE big IN ACCESS EXCLUSIVE MODE")
        let build = Task {
            defer { Task { await migration.close() } }
            _ = try await migration.query("CREATE INDEX big_md5 ON big (slow_md5(pad || n::text))")
            _ = try await migration.query("COMMIT")
        }
        let observer = try await database.session("observer")
        let reader = try await database.startBlockedStatement("SELECT count(*) FROM big", "web")
        try await database.waitUntilWaiting(reader.pid, observer: observer)
        return Building(migrationPID: migrationPID, build: build, reader: reader, observer: observer)
    }

    @Test("--json and the tree: phase, done of total, percent, and the time its first phase has left")
    func jsonAndText() async throws {
        try await ScratchDatabase.with { database in
            let building = try await Self.startBuilding(in: database)
            var progress: [String: Any] = [:]
            try await eventually("locks --json shows the table scan's progress with an estimate", timeout: .seconds(90))
            {
                let result = try await PGWardenCommand.run(["locks", "--json", "--dsn", database.connectionString])
                guard result.status == 0,
                    let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
                        as? [String: Any],
                    let blockers = object["blockers"] as? [[String: Any]],
                    let root = blockers.first(where: { $0["pid"] as? Int == Int(building.migrationPID) }),
                    let shown = root["progress"] as? [String: Any]
                else { return false }
                progress = shown
                return shown["phase"] as? String == "building index: scanning table"
                    && shown["phase_seconds_left"] is Double
            }
            #expect(progress["command"] as? String == "CREATE INDEX")
            #expect(progress["relation"] as? String == "public.big")
            #expect(progress["unit"] as? String == "blocks")
            let done = try #require(progress["done"] as? Double)
            let total = try #require(progress["total"] as? Double)
            #expect(done > 0 && total >= done, "\(progress)")
            let percent = try #require(progress["percent"] as? Double)
            #expect(abs(percent - (done / total * 100)) < 0.1, "\(progress)")
            #expect(try #require(progress["running_seconds"] as? Double) > 0)

            let text = try await PGWardenCommand.run(
                ["locks", "--dsn", database.connectionString],
                environment: ["COLUMNS": "250"]
            )
            #expect(text.status == 0, "\(text.standardError)")
            #expect(
                text.standardOutput.contains("│  progress: CREATE INDEX on public.big, building index: "),
                "\(text.standardOutput)"
            )
            try await building.finish()
        }
    }

    @Test(
        "--watch on a terminal (tmux): the selected root blocker's line gives its progress and phase estimate",
        .enabled(if: TmuxPane.isAvailable, TmuxPane.unavailableReason)
    )
    func watchView() async throws {
        try await ScratchDatabase.with { database in
            let building = try await Self.startBuilding(in: database)
            let pane = try await TmuxPane.start(columns: 250, rows: 30)
            defer { pane.close() }
            try pane.run(
                "\(PGWardenCommand.executable.path) locks --watch --interval 200ms --dsn \(database.connectionString)"
            )
            let screen = try await pane.waitForScreen("the view shows the build's progress", timeout: .seconds(90)) {
                screen in
                screen.contains {
                    $0.hasPrefix("pid \(building.migrationPID) · ")
                        && $0.contains("CREATE INDEX on public.big, building index: scanning table ")
                        && $0.contains("left at its rate so far")
                }
            }
            #expect(screen.contains { $0.contains(" \(building.reader.pid) ") }, "\(screen)")
            try pane.press("q")
            try await building.finish()
        }
    }
}
