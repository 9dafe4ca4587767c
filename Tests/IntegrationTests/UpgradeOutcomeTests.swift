import Foundation
import Postgres
import TestSupport
import Testing

/// The run's outcome told true at the edges an adversarial operator found: the state directory lost
/// mid-run, a lock-wait cancel the command swallows, a lock timeout, a daemonised child holding a lock,
/// and pgwarden's own role and password never handed to the migration. Real PostgreSQL, real crontab;
/// in the serialized upgrade suite, since they share its test user's crontab.
extension UpgradeTests {
    static let psql = (ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"].map { $0 + "/psql" }) ?? "psql"

    @Test("the state directory removed, or replaced by a file, mid-run: the crontab is restored all the same; exit 70")
    func stateDirectoryLost() async throws {
        for replacement in ["", "; echo not-a-directory > \"$D\""] {
            try await ScratchDatabase.with { database in
                let fixture = try await UpgradeFixture.prepare(database)
                let result = try await PGWardenCommand.run(
                    fixture.arguments() + [
                        "--", "/bin/sh", "-c", "D=\"$1\"; rm -rf \"$D\"\(replacement); sleep 0.5", "sh",
                        fixture.stateDirectory,
                    ]
                )
                #expect(result.status == 70, "\(result.standardOutput)\n\(result.standardError)")
                #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)  // byte for byte
                #expect(result.standardOutput.contains("the workers were resumed from memory"))
                #expect(!result.standardOutput.contains("no crontab change to undo"))
                #expect(result.standardError.contains("error: "))
                let report = try fixture.report()
                #expect(report["outcome"] as? String == "supervisor-failed")
                try? FileManager.default.removeItem(atPath: fixture.stateDirectory)
            }
        }
    }

    @Test(
        "the state directory replaced by one holding another pause's journal: ours resumed from memory, theirs untouched"
    )
    func stateDirectoryHoldsAnotherPause() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let journal = fixture.stateDirectory + "/workers-pause.json"
            // The copy is swapped in with renameat2(RENAME_EXCHANGE): the path never stops being a directory, which
            // an rm and an mv left open to the run's next journal write (it makes the directory again). cp may meet
            // a journal's temporary file that is renamed meanwhile: what counts is that the pause journal is copied.
            let replace = """
                D="$1"; cp -r "$D" "$D.x" 2>/dev/null; test -f "$D.x/workers-pause.json" \
                  && sed -i 's/"pause_id" *: *"[^"]*"/"pause_id" : "another-pause"/' "$D.x/workers-pause.json" \
                  && python3 -c 'import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); \
                sys.exit(libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2) != 0)' "$D.x" "$D" \
                  && rm -rf "$D.x"; sleep 0.5
                """
            let result = try await PGWardenCommand.run(
                fixture.arguments() + ["--", "/bin/sh", "-c", replace, "sh", fixture.stateDirectory]
            )
            #expect(result.status == 70, "\(result.standardOutput)\n\(result.standardError)")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)  // ours, byte for byte
            #expect(result.standardOutput.contains("the workers were resumed from memory"))
            #expect(!result.standardOutput.contains("no crontab change to undo"))
            let theirs = try String(contentsOfFile: journal, encoding: .utf8)
            #expect(theirs.contains("another-pause"), "\(theirs)")  // never written over
            try? FileManager.default.removeItem(atPath: fixture.stateDirectory)
        }
    }

    @Test("a --max-lock-wait cancel the command swallows (it exits 0): aborted, 75, never succeeded")
    func maxLockWaitSwallowed() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders")
            let result = try await PGWardenCommand.run(
                fixture.arguments(["--max-lock-wait", "1s"]) + [
                    "--", "/bin/sh", "-c", "\(Self.psql) -X -c 'ALTER TABLE orders ADD COLUMN swallowed int'; exit 0",
                ]
            )
            #expect(result.status == 75, "\(result.standardOutput)\n\(result.standardError)")
            let report = try fixture.report()
            #expect(report["outcome"] as? String == "aborted")
            #expect((report["attempts"] as? [[String: Any]])?.first?["ended_by"] as? String == "max-lock-wait")
            #expect(!result.standardOutput.contains("got its AccessExclusiveLock"))
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            _ = try await reader.query("ROLLBACK")
        }
    }

    @Test("a lock timeout ends the wait: never 'got its lock'; the wait is said to end without it; aborted, 75")
    func lockTimeoutIsNotAGrant() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders")
            let result = try await PGWardenCommand.run(
                // The error is swallowed (psql goes on, exit 0) while the transaction that waited stays open a second.
                fixture.arguments(["--lock-timeout", "2s"]) + [
                    "--", Self.psql, "-X", "-c", "BEGIN", "-c", "ALTER TABLE orders ADD COLUMN timed_out int",
                    "-c", "\\! sleep 1", "-c", "COMMIT",
                ]
            )
            #expect(result.standardError.contains("canceling statement due to lock timeout"))
            #expect(!result.standardOutput.contains("got its AccessExclusiveLock"), "\(result.standardOutput)")
            #expect(result.standardOutput.contains("without getting it"))
            #expect(result.status == 75)
            let report = try fixture.report()
            #expect((report["attempts"] as? [[String: Any]])?.first?["ended_by"] as? String == "lock timeout")
            let wait = try #require((report["lock_waits"] as? [[String: Any]])?.first)
            #expect(wait["granted"] as? Bool == false)
            _ = try await reader.query("ROLLBACK")
        }
    }

    @Test(
        "a daemonised child (setsid env -i) holding ACCESS EXCLUSIVE is found, stopped, its session terminated; non-zero"
    )
    func daemonisedChild() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let environment = ProcessInfo.processInfo.environment
            let conninfo =
                "host=\(environment["PGHOST"] ?? "/tmp") port=\(environment["PGPORT"] ?? "5432") user=\(environment["PGUSER"] ?? "postgres") dbname=\(database.name) application_name=innocent-daemon"
            let daemon =
                "setsid env -i \(Self.psql) -X '\(conninfo)' -c BEGIN -c 'LOCK TABLE orders' -c 'SELECT pg_sleep(30)' >/dev/null 2>&1 &"
            let observer = try await database.session("observer")
            let result = try await PGWardenCommand.run(
                fixture.arguments() + ["--", "/bin/sh", "-c", daemon + " sleep 1.5"]
            )
            // The moment pgwarden returns, nothing of the run holds a lock on orders.
            let held = try await observer.query(
                "SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'orders'::regclass AND granted AND pid <> pg_backend_pid()"
            )
            #expect(try held.rows.first?.require(Int.self, "n") == 0)
            #expect(result.status == 70, "\(result.standardOutput)\n\(result.standardError)")
            #expect(result.standardOutput.contains("a process of the migration outlived its command: stopped"))
            #expect(result.standardOutput.contains("a session of the migration outlived its command: terminated"))
            #expect(try fixture.report()["outcome"] as? String == "supervisor-failed")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
        }
    }

    @Test("--dsn is pgwarden's own: the migration never gets its role or password (it keeps the operator's)")
    func watcherRoleNotHandedOn() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let admin = try await TestCluster.administrator()
            let role = TestCluster.uniqueName("pgw_watcher")
            _ = try await admin.query("CREATE ROLE \(role) LOGIN PASSWORD 'S3cr3tPw'")
            _ = try await admin.query("GRANT pg_monitor, pg_signal_backend TO \(role)")
            defer { Task { _ = try? await admin.query("DROP ROLE IF EXISTS \(role)") } }
            let arguments = fixture.arguments().map {
                $0 == database.connectionString ? "\(database.connectionString) user=\(role) password=S3cr3tPw" : $0
            }
            let result = try await PGWardenCommand.run(
                arguments + ["--", "/bin/sh", "-c", "echo \"user=[$PGUSER] pw=[$PGPASSWORD] db=[$PGDATABASE]\""]
            )
            #expect(result.status == 0, "\(result.standardError)")
            #expect(!result.standardOutput.contains("user=[\(role)]"))
            #expect(!result.standardOutput.contains("S3cr3tPw") && !result.standardError.contains("S3cr3tPw"))
            #expect(result.standardOutput.contains("db=[\(database.name)]"))  // where it points is kept
        }
    }

    @Test("a --dsn role that may not read alembic_version: a warning with the grant, never a bare permission denied")
    func alembicVersionUnreadable() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let admin = try await TestCluster.administrator()
            let role = TestCluster.uniqueName("pgw_noalembic")
            _ = try await admin.query("CREATE ROLE \(role) LOGIN")
            _ = try await admin.query("GRANT pg_monitor, pg_signal_backend TO \(role)")
            let arguments = fixture.arguments().map {
                $0 == database.connectionString ? "\(database.connectionString) user=\(role)" : $0
            }
            let result = try await PGWardenCommand.run(arguments + ["--", "/bin/true"])
            _ = try await admin.query("DROP ROLE \(role)")
            #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
            #expect(
                result.standardOutput.contains(
                    "role \(role) may not read alembic_version, so it is not checked before and after the run"
                        + " (GRANT SELECT ON alembic_version TO \(role) lets it)"
                ),
                "\(result.standardOutput)"
            )
            #expect(!result.standardError.contains("permission denied"))
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
        }
    }

    @Test("status and recover without --state-dir find the pause by the crontab's marker and name its state directory")
    func whereIsMyRun() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders")
            let run = try RunningCommand(fixture.arguments() + fixture.migration)
            try await run.waitForStandardOutput("waits for AccessExclusiveLock on relation public.orders, blocked by")
            run.kill()
            #expect(try fixture.crontabIsPaused())

            let status = try await PGWardenCommand.run(["status"])
            #expect(status.status == 3, "\(status.standardOutput)\n\(status.standardError)")
            #expect(status.standardOutput.contains("crontabs hold lines paused by pgwarden"))
            #expect(status.standardOutput.contains("\(fixture.user): pause "))
            #expect(status.standardOutput.contains("pgwarden status --state-dir \(fixture.stateDirectory)"))
            let recover = try await PGWardenCommand.run(["recover"])
            #expect(recover.status == 3 && recover.standardOutput.contains("state directory \(fixture.stateDirectory)"))
            #expect(try fixture.crontabIsPaused())  // another state directory's pause is named, never resumed blindly

            let stop = try await PGWardenCommand.run([
                "recover", "--stop-migration", "--state-dir", fixture.stateDirectory, "--dsn",
                database.connectionString,
            ])
            #expect(stop.status == 0, "\(stop.standardOutput)\n\(stop.standardError)")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            _ = try await reader.query("ROLLBACK")
        }
    }
}
