import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden upgrade`, `recover` and `status` end to end: a real PostgreSQL, a real Alembic project,
/// a real crontab of a test user, a real uWSGI. Serialized: the tests share that user's crontab.
@Suite(
    "pgwarden upgrade",
    .serialized,
    .enabled(if: TestCluster.isAvailable && TestCrontab.isAvailable, TestCrontab.unavailableReason)
)
struct UpgradeTests {
    @Test(
        "blocked by an idle-in-transaction reader, freed by a policy terminate; the queue counted; workers paused and restored; uWSGI reloaded first"
    )
    func policyFreesTheMigration() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let uwsgi = try await UWSGIServer()
            let workersBefore = uwsgi.workerPIDs
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let readerPID = await reader.backendPID
            let run = try RunningCommand(
                fixture.arguments(["--policy", try fixture.policy(after: "6s"), "--uwsgi-fifo", uwsgi.fifo])
                    + fixture.migration
            )
            try await run.waitForStandardOutput("waits for AccessExclusiveLock on relation public.orders")
            #expect(try fixture.crontabIsPaused())  // observed from outside, during the run
            #expect(Set(uwsgi.workerPIDs).isDisjoint(with: workersBefore))  // reloaded before the migration
            // Queued while the policy waits its 6 s: pgwarden's polls (every 250 ms) count it. With 2 s, a
            // loaded machine (CI) let the terminate come before a poll had seen the queue.
            let web = try await database.startBlockedStatement("SELECT count(*) FROM orders", "web")
            let observer = try await database.session("observer")
            try await database.waitUntilWaiting(web.pid, observer: observer)

            let status = try await run.waitForExit(timeout: .seconds(60))

            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            try await web.task.value
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            let report = try fixture.report()
            #expect(report["outcome"] as? String == "succeeded")
            #expect(report["exit_status"] as? Int == 0)
            #expect(report["server_version"] as? String == (try await TestCluster.serverVersion()))
            #expect((report["alembic_version"] as? [String: Any])?["before"] as? String == "0001")
            #expect((report["alembic_version"] as? [String: Any])?["after"] as? String == "0002")
            let steps = (report["steps"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(steps == ["preflight", "pause workers", "reload uWSGI (before)", "resume workers"])
            let waits = try #require(report["lock_waits"] as? [[String: Any]])
            let wait = try #require(waits.first)
            #expect((wait["lock"] as? [String: Any])?["mode"] as? String == "AccessExclusiveLock")
            #expect((wait["queued_behind_max"] as? Int ?? 0) >= 1)
            let blocker = try #require((wait["blockers"] as? [[String: Any]])?.first)
            #expect(blocker["pid"] as? Int == Int(readerPID))
            #expect(blocker["state"] as? String == "idle in transaction")
            #expect(blocker["action"] as? String == "terminate")
            #expect(blocker["action_by"] as? String == "policy:idle transactions blocking the migration")
            #expect(
                run.standardError.contains("[migration ") && run.standardError.contains("Running upgrade 0001 -> 0002")
            )  // Alembic logs on stderr: it stays there
            let attributes = try FileManager.default.attributesOfItem(atPath: fixture.reportPath)
            #expect(attributes[.posixPermissions] as? Int == 0o600)
            await uwsgi.stop()
        }
    }

    @Test("a failing migration: its exit status is pgwarden's, the report says failed, the workers are restored")
    func failingMigration() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let result = try await PGWardenCommand.run(
                fixture.arguments() + ["--", "/usr/bin/python3", "-c", "import sys; print('boom'); sys.exit(3)"]
            )
            #expect(result.status == 3)
            #expect(result.standardOutput.contains("] boom\n"))
            #expect(try fixture.report()["outcome"] as? String == "failed")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
        }
    }

    @Test("--local-time: the migration's lines carry the offset of TZ, read from the C library's zone data")
    func localTime() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let result = try await PGWardenCommand.run(
                fixture.arguments(["--local-time"]) + ["--", "/usr/bin/python3", "-c", "print('hello')"],
                environment: ["TZ": "Asia/Kolkata"]  // +05:30 all year: no daylight saving to race
            )
            #expect(result.status == 0, "\(result.standardError)")
            let line = result.standardOutput.split(separator: "\n").first { $0.hasSuffix("] hello") }
            #expect(line?.contains("+0530] hello") == true, "\(result.standardOutput)")
        }
    }

    @Test("--lock-timeout with --retries: the first attempt times out, the blocker leaves, the second succeeds")
    func lockTimeoutRetry() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders")
            let run = try RunningCommand(
                fixture.arguments(["--lock-timeout", "1s", "--retries", "2", "--retry-delay", "1s"]) + fixture.migration
            )
            try await run.waitForStandardOutput("migration attempt 1 exited with status")
            _ = try await reader.query("ROLLBACK")

            #expect(try await run.waitForExit(timeout: .seconds(60)) == 0, "\(run.standardOutput)")
            let attempts = try #require(try fixture.report()["attempts"] as? [[String: Any]])
            #expect(attempts.count == 2)
            #expect(attempts.first?["ended_by"] as? String == "lock timeout")
            #expect(attempts.last?["exit_status"] as? Int == 0)
            #expect(run.standardError.contains("canceling statement due to lock timeout"))
        }
    }

    @Test("--max-lock-wait without a policy: the migration's statement is cancelled, outcome aborted, workers restored")
    func maxLockWait() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders")
            let result = try await PGWardenCommand.run(
                fixture.arguments(["--max-lock-wait", "1s"]) + fixture.migration
            )
            #expect(result.status == 75)  // an abort over a lock wait, not a failed migration
            #expect(result.standardOutput.contains("(--max-lock-wait 1s): cancelling its statement"))
            let report = try fixture.report()
            #expect(report["outcome"] as? String == "aborted")
            #expect((report["attempts"] as? [[String: Any]])?.first?["ended_by"] as? String == "max-lock-wait")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            #expect(try await reader.query("SELECT 1").rows.count == 1)  // the blocker was not touched
        }
    }

    @Test("kill -9 of the supervisor mid-wait, then recover: crontab restored; status tells the story")
    func killedThenRecovered() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders")
            let run = try RunningCommand(fixture.arguments() + fixture.migration)
            try await run.waitForStandardOutput("waits for AccessExclusiveLock")
            try await eventually("the journal records the wait") {
                (try? String(contentsOfFile: fixture.stateDirectory + "/upgrade-run.json", encoding: .utf8))?.contains(
                    "last_lock_wait"
                ) == true
            }
            run.kill()
            #expect(try fixture.crontabIsPaused())

            let status = try await PGWardenCommand.run(["status", "--state-dir", fixture.stateDirectory])
            #expect(status.status == 3)  // something needs recover
            #expect(
                status.standardOutput.contains(
                    "INTERRUPTED (its supervisor is gone: run pgwarden recover --state-dir \(fixture.stateDirectory)), phase migrating"
                )
            )
            #expect(status.standardOutput.contains("last lock wait: pid "))
            let again = try await PGWardenCommand.run(fixture.arguments() + fixture.migration)
            #expect(again.status == 1 && again.standardError.contains("did not finish"))
            #expect(again.standardError.contains("hint: pgwarden recover --state-dir \(fixture.stateDirectory)"))

            // The trap: recover must not resume the workers while the migration still runs and waits.
            let recover = try await PGWardenCommand.run(["recover", "--state-dir", fixture.stateDirectory])

            #expect(recover.status == 3, "\(recover.standardError)")
            #expect(recover.standardOutput.contains("is still running: pgwarden no longer watches it"))
            #expect(recover.standardOutput.contains("the workers are left paused while the migration runs"))
            #expect(try fixture.crontabIsPaused())

            // Following the hint stops the migration, then resumes the workers.
            let stop = try await PGWardenCommand.run([
                "recover", "--stop-migration", "--state-dir", fixture.stateDirectory, "--dsn",
                database.connectionString,
            ])
            #expect(stop.status == 0, "\(stop.standardOutput)\n\(stop.standardError)")
            #expect(stop.standardOutput.contains("stopped the migration (pid "))
            #expect(stop.standardOutput.contains("resumed 1 crontab line of \(fixture.user) (byte for byte as before)"))
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            let last = try await PGWardenCommand.run(["status", "--state-dir", fixture.stateDirectory])
            #expect(last.standardOutput.hasPrefix("last run ") && last.standardOutput.contains(": recovered"))
            #expect(last.status == 2)  // the last run did not succeed
            #expect(!last.standardOutput.contains("report:"))  // never written: not named
            _ = try await reader.query("ROLLBACK")
        }
    }

    @Test(
        "kill -9 after the migration, before the workers are resumed: the journal still knows the run; recover restores"
    )
    func killedBeforeResume() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders")
            let run = try await PGWardenCommand.startUntilFailPoint(
                "upgrade.before-resume",
                fixture.arguments(["--policy", try fixture.policy(after: "1s")]) + fixture.migration
            )
            PGWardenCommand.killHard(run)
            #expect(try fixture.crontabIsPaused())

            // The phase written last must not have overwritten what the monitor and the launcher recorded.
            let status = try await PGWardenCommand.run(["status", "--state-dir", fixture.stateDirectory])
            #expect(status.standardOutput.contains("phase finishing"), "\(status.standardOutput)")
            #expect(status.standardOutput.contains("  migration pid: "))
            #expect(status.standardOutput.contains("  last lock wait: pid "))

            let recover = try await PGWardenCommand.run(["recover", "--state-dir", fixture.stateDirectory])
            #expect(recover.status == 0, "\(recover.standardError)")
            #expect(
                recover.standardOutput.contains("the migration (pid ")
                    && recover.standardOutput.contains("is no longer running")
            )
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            withExtendedLifetime(reader) {}
        }
    }

    @Test("SIGHUP mid-run does not stop it; SIGTERM stops the migration and restores the workers")
    func signals() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            var reader = try await database.idleInTransactionReader(of: "orders")
            let run = try RunningCommand(
                fixture.arguments(["--policy", try fixture.policy(after: "2s")]) + fixture.migration
            )
            try await run.waitForStandardOutput("waits for AccessExclusiveLock")
            run.send(SIGHUP)
            #expect(try await run.waitForExit(timeout: .seconds(60)) == 0)
            #expect(run.standardOutput.contains("SIGHUP ignored"))

            try TestCrontab.install(UpgradeFixture.crontab, for: fixture.user)
            _ = try await database.session().query("DROP TABLE alembic_version")
            _ = try await database.session().query("ALTER TABLE orders DROP COLUMN note")
            reader = try await database.idleInTransactionReader(of: "orders")
            let interrupted = try RunningCommand(fixture.arguments() + fixture.migration)
            try await interrupted.waitForStandardOutput("waits for AccessExclusiveLock")
            interrupted.send(SIGTERM)
            #expect(try await interrupted.waitForExit() == 128 + SIGTERM)
            #expect(try fixture.report()["outcome"] as? String == "interrupted")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            #expect(
                try await database.session().query(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgwarden-migration%' AND datname = current_database()"
                ).rows.isEmpty
            )
            withExtendedLifetime(reader) {}
        }
    }

    @Test("a command that does not exist, a DSN that does not connect: clear errors before anything is paused")
    func preflightErrors() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let missing = try await PGWardenCommand.run(fixture.arguments() + ["--", "pgwarden-no-such-migration"])
            #expect(missing.status == 1)
            #expect(missing.standardError.hasPrefix("error: command not found: pgwarden-no-such-migration"))
            var arguments = fixture.arguments()
            arguments[2] = "host=127.0.0.1 port=1 connect_timeout=2 password=s3cret"
            let unreachable = try await PGWardenCommand.run(arguments + fixture.migration)
            #expect(unreachable.status == 1)
            #expect(unreachable.standardError.hasPrefix("error: connection to server at \"127.0.0.1\", port 1 failed"))
            #expect(!unreachable.standardError.contains("s3cret") && !unreachable.standardOutput.contains("s3cret"))
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            #expect(!FileManager.default.fileExists(atPath: fixture.stateDirectory + "/upgrade-run.json"))
        }
    }

    @Test("--dry-run prints the plan and changes nothing")
    func dryRun() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let result = try await PGWardenCommand.run(fixture.arguments(["--dry-run"]) + fixture.migration)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("pause 1 crontab line of \(fixture.user):"))
            #expect(result.standardOutput.contains("alembic_version: 0001"))
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            let version = try await database.session().query("SELECT version_num FROM alembic_version").rows[0].text(
                "version_num"
            )
            #expect(version == "0001")
        }
    }

    /// Runs `pgwarden ARGUMENTS` on a pseudo-terminal (Python's pty module) that first types
    /// `typedAhead`, then, each time the output shows a step's text, sends its keys (marking the
    /// moment in the output as `<<N>>`). A run that hangs for 60 s is killed, so the test fails.
    static func onPseudoTerminal(_ arguments: [String], typedAhead: String, steps: [(String, String)]) throws -> (
        status: Int32, output: String
    ) {
        let driver = """
            import os, pty, sys, select, time, json
            steps = json.loads(sys.argv[1]); typed = sys.argv[2].encode()
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[3], sys.argv[3:])
            os.write(fd, typed)
            out = b""; step = 0
            while True:
                ready, _, _ = select.select([fd], [], [], 60)
                if not ready:
                    os.kill(pid, 9); break
                try: chunk = os.read(fd, 4096)
                except OSError: break
                if not chunk: break
                out += chunk
                if step < len(steps) and steps[step][0].encode() in out:
                    time.sleep(0.3)
                    out += ("<<%d>>" % step).encode()
                    os.write(fd, steps[step][1].encode()); step += 1
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit(os.waitstatus_to_exitcode(status))
            """
        let plan = String(
            decoding: try JSONSerialization.data(withJSONObject: steps.map { [$0.0, $0.1] }),
            as: UTF8.self
        )
        let result = try TestCrontab.run(
            "/usr/bin/python3",
            ["-c", driver, plan, typedAhead, PGWardenCommand.executable.path] + arguments
        )
        return (result.status, result.output)
    }

    @Test(
        "interactive, through a pseudo-terminal: typed-ahead keys and a bare Enter do nothing; t then y terminates the blocker"
    )
    func interactive() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders", "forgotten-report")
            let readerPID = await reader.backendPID
            var arguments = fixture.arguments() + fixture.migration
            arguments.removeAll { $0 == "--no-interactive" }
            let result = try Self.onPseudoTerminal(
                arguments,
                typedAhead: "ty\n",
                steps: [("[a]bort the migration?", "\r"), ("[a]bort the migration?", "t"), ("[y/n]", "y")]
            )
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("1) pid \(readerPID), idle in transaction"))
            #expect(result.output.contains("only terminate releases its locks"))
            let confirmed = try #require(result.output.range(of: "<<2>>"))
            let signalled = try #require(result.output.range(of: "operator: terminate pid \(readerPID) → signalled"))
            #expect(confirmed.lowerBound < signalled.lowerBound, "acted before the confirmation: \(result.output)")
            let blocker =
                (try fixture.report()["lock_waits"] as? [[String: Any]])?.first?["blockers"] as? [[String: Any]]
            #expect(blocker?.first?["action_by"] as? String == "operator")
            let audit = try String(contentsOfFile: fixture.stateDirectory + "/upgrade-audit.jsonl", encoding: .utf8)
            #expect(audit.contains("\"by\":\"operator\"") && audit.contains("\"outcome\":\"signalled\""))
        }
    }

    @Test("interactive: two blockers are listed, numbered; t, * and y terminate both")
    func interactiveSeveral() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let first = try await database.idleInTransactionReader(of: "orders", "report-one")
            let second = try await database.idleInTransactionReader(of: "orders", "report-two")
            let pids = [await first.backendPID, await second.backendPID].sorted()
            var arguments = fixture.arguments() + fixture.migration
            arguments.removeAll { $0 == "--no-interactive" }
            let result = try Self.onPseudoTerminal(
                arguments,
                typedAhead: "",
                steps: [("2) pid", "t"), ("[1-2, * for all]", "*"), ("these 2 sessions? [y/n]", "y")]
            )
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("1) pid \(pids[0]),") && result.output.contains("2) pid \(pids[1]),"))
            for pid in pids {
                #expect(result.output.contains("operator: terminate pid \(pid) → signalled"), "\(result.output)")
            }
        }
    }
}
