import Foundation
import TestSupport
import Testing
import WardenSupport
import Workers

/// `pgwarden workers` against the real `crontab` command and a dedicated test user.
/// Serialized: the tests share that user's crontab.
@Suite("pgwarden workers", .serialized, .enabled(if: TestCrontab.isAvailable, TestCrontab.unavailableReason))
struct WorkersTests {
    let user = TestCrontab.workersUser

    /// The example crontab of shared/examples, with another team's workers beside the app's.
    static let crontab = """
        # Lines below here are managed by Salt, do not edit
        MAILTO=sysadmin@example.org
        SHELL=/bin/bash
        # SALT_CRON_IDENTIFIER:PROCESS_REDIS_QUEUE
        0,5,15,20,30,35,45,50 * * * * cd /home/app/process && . .ve/bin/activate && python app-cli process-redis-queue --runforseconds 3540 > /dev/null
        # SALT_CRON_IDENTIFIER:COLLECTION_STORE_FINISHED
        0 * * * * cd /home/app/process && . .ve/bin/activate && python app-cli collection-store-finished
        # SALT_CRON_IDENTIFIER:CHECK_COLLECTIONS
        0 1 * * * cd /home/app/process && . .ve/bin/activate && python app-cli check-collections --runforseconds 28800
        # SALT_CRON_IDENTIFIER:TRANSFORM_COLLECTIONS
        0 */3 * * * cd /home/app/process && . .ve/bin/activate && python app-cli transform-collections --runforseconds 10800

        # SALT_CRON_IDENTIFIER:DELETE_COLLECTIONS
        0 2 * * 5 cd /home/app/process && . .ve/bin/activate && python app-cli delete-collections
        #DISABLED#30 4 * * * cd /home/app/process && . .ve/bin/activate && python app-cli old-job
        */10 * * * * /home/reports/bin/report-cli refresh
        @reboot /home/app/bin/notify-boot

        """

    static func withoutMarkers(_ text: String) -> String {
        text.replacingOccurrences(of: "#pgwarden:paused:\\S+ ", with: "", options: .regularExpression)
    }

    func stateDirectory() -> String {
        NSTemporaryDirectory() + "pgwarden-test-state-" + UUID().uuidString
    }

    func pgwarden(_ arguments: [String]) async throws -> PGWardenCommand.Output {
        try await PGWardenCommand.run(["workers"] + arguments)
    }

    /// `workers pause` of the app-cli lines into `state`, killed with SIGKILL at `failPoint`.
    func pauseKilled(at failPoint: String, state: String) async throws {
        let pause = try await PGWardenCommand.startUntilFailPoint(
            failPoint,
            ["workers", "pause", "--user", user, "--match", "app-cli", "--state-dir", state]
        )
        PGWardenCommand.killHard(pause)
    }

    @Test("pause comments exactly the matching jobs; resume brings back every byte")
    func pauseResume() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()

        let pause = try await pgwarden(["pause", "--user", user, "--match", "app-cli", "--state-dir", state])

        #expect(pause.status == 0, "\(pause.standardError)")
        #expect(pause.standardOutput.hasPrefix("paused 5 crontab lines of \(user) (pause "))
        let paused = try TestCrontab.read(user)
        let markers = paused.split(separator: "\n").filter { $0.hasPrefix("#pgwarden:paused:") }
        #expect(markers.count == 5)
        #expect(Self.withoutMarkers(paused) == Self.crontab)
        #expect(paused.contains("\n*/10 * * * * /home/reports/bin/report-cli refresh\n"))
        let journal = try FileManager.default.attributesOfItem(atPath: state + "/workers-pause.json")
        #expect(journal[.posixPermissions] as? Int == 0o600)
        let directory = try FileManager.default.attributesOfItem(atPath: state)
        #expect(directory[.posixPermissions] as? Int == 0o700)

        let status = try await pgwarden(["status", "--state-dir", state])
        #expect(status.standardOutput.split(separator: "\n").filter { $0.hasPrefix("  paused ") }.count == 5)

        let resume = try await pgwarden(["resume", "--state-dir", state])

        #expect(resume.status == 0, "\(resume.standardError)")
        #expect(try TestCrontab.read(user) == Self.crontab)
        #expect(resume.standardOutput.contains("the crontab is byte for byte what it was before the pause"))
        #expect(!FileManager.default.fileExists(atPath: state + "/workers-pause.json"))
        let again = try await pgwarden(["resume", "--state-dir", state])
        #expect(again.status == 0 && again.standardOutput.hasPrefix("nothing is paused"))
    }

    @Test("a foreign edit between pause and resume survives")
    func foreignEdit() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        _ = try await pgwarden([
            "pause", "--user", user, "--match", "app-cli (process|transform)", "--state-dir", state,
        ])
        let edited =
            try TestCrontab.read(user)
            .replacingOccurrences(of: "MAILTO=sysadmin@example.org", with: "MAILTO=oncall@example.org")
            + "30 6 * * * /home/reports/bin/report-cli daily\n"
        try TestCrontab.install(edited, for: user)

        let resume = try await pgwarden(["resume", "--state-dir", state])

        #expect(resume.status == 0)
        let restored = try TestCrontab.read(user)
        #expect(restored == Self.withoutMarkers(edited))
        #expect(restored.contains("MAILTO=oncall@example.org") && restored.hasSuffix("report-cli daily\n"))
        #expect(!resume.standardOutput.contains("byte for byte"))
    }

    @Test("a configuration-management run that re-enables the jobs is noticed, and nothing is duplicated")
    func reEnabledBySalt() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        _ = try await pgwarden(["pause", "--user", user, "--match", "app-cli", "--state-dir", state])
        try TestCrontab.install(Self.crontab, for: user)  // Salt rewrites the whole file

        let status = try await pgwarden(["status", "--state-dir", state])
        let resume = try await pgwarden(["resume", "--state-dir", state])

        #expect(status.standardOutput.split(separator: "\n").filter { $0.hasPrefix("  re-enabled") }.count == 5)
        #expect(status.standardError.contains("warning: 5 paused lines were re-enabled or removed by someone else"))
        #expect(resume.status == 0)
        #expect(resume.standardError.split(separator: "\n").filter { $0.contains("re-enabled this line") }.count == 5)
        #expect(try TestCrontab.read(user) == Self.crontab)
    }

    @Test("kill -9 after the journal, before the crontab changes: resume has nothing to restore")
    func killedAfterJournal() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        try await pauseKilled(at: "workers.pause.journaled", state: state)
        #expect(try TestCrontab.read(user) == Self.crontab)

        let resume = try await pgwarden(["resume", "--state-dir", state])

        #expect(resume.status == 0, "\(resume.standardError)")
        #expect(resume.standardOutput.contains("interrupted before it changed the crontab"))
        #expect(try TestCrontab.read(user) == Self.crontab)
        #expect(!FileManager.default.fileExists(atPath: state + "/workers-pause.json"))
    }

    @Test("kill -9 right after the crontab is written: resume restores it byte for byte")
    func killedAfterInstall() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        try await pauseKilled(at: "workers.pause.installed", state: state)
        #expect(try TestCrontab.read(user).contains("#pgwarden:paused:"))

        let resume = try await pgwarden(["resume", "--state-dir", state])

        #expect(resume.status == 0, "\(resume.standardError)")
        #expect(try TestCrontab.read(user) == Self.crontab)
    }

    @Test("kill -9 during resume, after the crontab is restored: resuming again is harmless")
    func killedDuringResume() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        _ = try await pgwarden(["pause", "--user", user, "--match", "app-cli", "--state-dir", state])
        let resume = try await PGWardenCommand.startUntilFailPoint(
            "workers.resume.installed",
            ["workers", "resume", "--state-dir", state]
        )
        PGWardenCommand.killHard(resume)

        let again = try await pgwarden(["resume", "--state-dir", state])

        #expect(again.status == 0)
        #expect(try TestCrontab.read(user) == Self.crontab)
    }

    @Test("a second pgwarden on the same state directory is refused while the first works")
    func busyStateDirectory() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        let first = try await PGWardenCommand.startUntilFailPoint(
            "workers.pause.installed",
            ["workers", "pause", "--user", user, "--match", "app-cli", "--state-dir", state]
        )
        let second = try await pgwarden(["resume", "--state-dir", state])
        PGWardenCommand.killHard(first)

        #expect(second.status == 1)
        #expect(
            second.standardError.hasPrefix(
                "error: another pgwarden (pid \(first.processIdentifier)) is using the state directory"
            )
        )
        _ = try await pgwarden(["resume", "--state-dir", state])
        #expect(try TestCrontab.read(user) == Self.crontab)
    }

    /// The example crontab plus the jobs that start the fake workers tagged `tag`.
    static func crontab(withWorkersTagged tag: String) -> String {
        crontab
            + "*/5 * * * * /usr/bin/python3 worker.py \(tag)-queue\n*/5 * * * * /usr/bin/python3 worker.py \(tag)-transform\n"
    }

    @Test("--stop term: SIGTERM, then SIGKILL after the grace; similar processes survive")
    func stopTerm() async throws {
        let uid = try UserAccount(named: user).uid
        let tag = "fakeworker-" + UUID().uuidString.prefix(8)
        try TestCrontab.install(Self.crontab(withWorkersTagged: tag), for: user)
        let obedient = try FakeWorker.start("\(tag)-queue", as: user, behaviour: .obedient)
        let stubborn = try FakeWorker.start("\(tag)-transform", as: user, behaviour: .stubborn)
        let otherUsers = try FakeWorker.start("\(tag)-queue-root", as: "root", behaviour: .obedient)  // matches, but root's
        let notMatching = try FakeWorker.start("\(tag)-report", as: user, behaviour: .obedient)  // similar name
        defer { [obedient, stubborn, otherUsers, notMatching].forEach { $0.stop(uid: uid) } }
        let obedientPID = try await obedient.pid(uid: uid)
        let stubbornPID = try await stubborn.pid(uid: uid)
        let rootPID = try await otherUsers.pid(uid: 0)
        let reportPID = try await notMatching.pid(uid: uid)

        let pause = try await pgwarden([
            "pause", "--user", user, "--match", "app-cli", "--match", "\(tag)-(queue|transform)",
            "--stop", "term", "--stop-scope", "user", "--grace", "1s", "--state-dir", stateDirectory(),
        ])

        #expect(pause.status == 0, "\(pause.standardError)")
        #expect(pause.standardOutput.contains("pid \(obedientPID) exited after SIGTERM"))
        #expect(pause.standardOutput.contains("pid \(stubbornPID) killed with SIGKILL after the grace period"))
        #expect(!FakeWorker.isRunning(obedientPID) && !FakeWorker.isRunning(stubbornPID))
        #expect(FakeWorker.isRunning(rootPID) && FakeWorker.isRunning(reportPID))
        #expect(!pause.standardOutput.contains("pid \(rootPID)") && !pause.standardOutput.contains("pid \(reportPID)"))
        #expect(pause.standardOutput.hasPrefix("paused 7 crontab lines"))
    }

    @Test("--stop drain: a worker that finishes within the grace is left to finish")
    func stopDrain() async throws {
        let uid = try UserAccount(named: user).uid
        let tag = "fakeworker-" + UUID().uuidString.prefix(8)
        try TestCrontab.install(Self.crontab(withWorkersTagged: tag), for: user)
        // Long enough to be still running when pgwarden (started on a loaded machine) looks for it.
        let finishing = try FakeWorker.start("\(tag)-queue", as: user, behaviour: .finishing(seconds: 3))
        let lingering = try FakeWorker.start("\(tag)-transform", as: user, behaviour: .obedient)
        defer { [finishing, lingering].forEach { $0.stop(uid: uid) } }
        let finishingPID = try await finishing.pid(uid: uid)
        let lingeringPID = try await lingering.pid(uid: uid)

        let pause = try await pgwarden([
            "pause", "--user", user, "--match", "app-cli", "--match", "\(tag)-",
            "--stop", "drain", "--stop-scope", "user", "--grace", "6s", "--state-dir", stateDirectory(),
        ])

        #expect(pause.status == 0, "\(pause.standardError)")
        #expect(pause.standardOutput.contains("pid \(finishingPID) finished by itself"))
        #expect(pause.standardOutput.contains("pid \(lingeringPID) exited after SIGTERM"))
    }

    @Test(
        "bad input: one error line, and nothing changed",
        arguments: [
            (["--match", "app-(cli"], "error: --match 'app-(cli' is not a valid regular expression"),
            (
                ["--match", "app-cli", "--match", "nothing-like-this"],
                "error: --match 'nothing-like-this' matches no job line of the crontab"
            ),
            (["--match", "app-cli", "--user", "pgwarden-no-such-user"], "error: unknown user 'pgwarden-no-such-user'"),
            (
                ["--match", "app-cli", "--state-dir", "/proc/pgwarden-state"],
                "error: cannot create the state directory /proc/pgwarden-state"
            ),
        ]
    )
    func badInput(arguments: [String], error: String) async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        var full = ["pause"] + arguments
        if !arguments.contains("--user") { full += ["--user", user] }
        if !arguments.contains("--state-dir") { full += ["--state-dir", state] }

        let result = try await pgwarden(full)

        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix(error), "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(try TestCrontab.read(user) == Self.crontab)
        #expect(!FileManager.default.fileExists(atPath: state + "/workers-pause.json"))
    }

    @Test("a crontab that crontab rejects: its reason, and the crontab unchanged")
    func rejectedCrontab() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let staging = StateDirectory(path: stateDirectory())
        try staging.prepare()
        let error = await #expect(throws: WorkersError.self) {
            try await Crontab(user: user).install(Array("* * * * true\n".utf8), stagingIn: staging)
        }
        #expect(error?.code == .crontabFailed)
        #expect(error?.summary.contains("bad day-of-week") == true)
        #expect(try TestCrontab.read(user) == Self.crontab)
    }

    @Test("no crontab at all: every --match matches nothing")
    func noCrontab() async throws {
        try TestCrontab.remove(user)
        let result = try await pgwarden([
            "pause", "--user", user, "--match", "app-cli", "--state-dir", stateDirectory(),
        ])
        #expect(result.status == 1)
        #expect(result.standardError.hasPrefix("error: --match 'app-cli' matches no job line"))
        #expect(try TestCrontab.read(user) == "")
    }
}
