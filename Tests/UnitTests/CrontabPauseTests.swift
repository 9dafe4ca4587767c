import Foundation
import Testing
import WardenSupport
import Workers

/// The crontab transform, without the `crontab` command.
@Suite("Crontab pause and resume")
struct CrontabPauseTests {
    static let salt = """
        # Lines below here are managed by Salt, do not edit
        MAILTO=sysadmin@example.org
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
        @reboot /home/app/bin/notify-boot

        """

    static let appCLI = try! WorkerPattern("app-cli")

    /// The UTF-8 bytes of `text`.
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Bytes as text, for comparisons with text (bytes that are not UTF-8 as U+FFFD).
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("classifies job, environment, comment and blank lines")
    func classification() {
        #expect(CrontabLine("0 * * * * run --x").command == "run --x")
        #expect(CrontabLine("  */5 1-3 * jan mon-fri   cmd a b").command == "cmd a b")
        #expect(CrontabLine("@reboot /bin/notify").command == "/bin/notify")
        #expect(CrontabLine("MAILTO=x@example.org") == .other)
        #expect(CrontabLine(" PATH = /usr/bin") == .other)
        #expect(CrontabLine("# 0 * * * * commented") == .other)
        #expect(CrontabLine("#DISABLED#30 4 * * * old") == .other)
        #expect(CrontabLine("") == .other)
        #expect(CrontabLine("0 * * * *") == .other)
    }

    @Test("pausing the Salt crontab comments exactly the five app-cli jobs; resuming restores every byte")
    func saltCrontab() throws {
        let paused = try CrontabPause.pause(Self.bytes(Self.salt), patterns: [Self.appCLI], pauseID: "p1")
        #expect(paused.lines.map(\.number) == [4, 6, 8, 10, 12])
        let before = Self.salt.split(separator: "\n", omittingEmptySubsequences: false)
        let after = Self.text(paused.text).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(before.count == after.count)
        for (index, (old, new)) in zip(before, after).enumerated() {
            if [3, 5, 7, 9, 11].contains(index) {
                #expect(new == "#pgwarden:paused:p1 " + old)
            } else {
                #expect(new == old)
            }
        }
        let resumed = CrontabPause.resume(paused.text, pauseID: "p1", paused: paused.lines)
        #expect(resumed.text == Self.bytes(Self.salt))
        #expect(resumed.lines.allSatisfy { $0.state == .paused })
    }

    @Test("a pattern that matches no job line is an error; a commented line does not count")
    func unmatchedPattern() throws {
        let oldJob = try WorkerPattern("old-job")
        let error = #expect(throws: WorkersError.self) {
            try CrontabPause.pause(Self.bytes(Self.salt), patterns: [Self.appCLI, oldJob], pauseID: "p")
        }
        #expect(error?.code == .patternMatchesNothing)
        #expect(error?.summary == "--match 'old-job' matches no job line of the crontab")
    }

    @Test("an invalid regular expression is an error")
    func invalidPattern() {
        #expect(throws: WorkersError.self) { try WorkerPattern("app-(cli") }
        #expect(throws: WorkersError.self) { try WorkerPattern("") }
    }

    @Test(
        "an expression built to backtrack answers at once on a hostile line: it matches no job, an error, nothing paused"
    )
    func backtrackingPattern() throws {
        // ICU would try 2^40 ways here before it gave up; pgwarden's engine does not backtrack at all.
        let hostile = "* * * * * " + String(repeating: "a", count: 40) + "!\n" + Self.salt
        let clock = ContinuousClock()
        var error: WorkersError?
        let elapsed = clock.measure {
            error = #expect(throws: WorkersError.self) {
                try CrontabPause.pause(
                    Self.bytes(hostile),
                    patterns: [try WorkerPattern("^(a+)+$"), Self.appCLI],
                    pauseID: "p"
                )
            }
        }
        #expect(elapsed < .seconds(1), "\(elapsed)")
        #expect(error?.code == .patternMatchesNothing)
        #expect(error?.summary.hasPrefix("--match '^(a+)+$' matches no job") == true, "\(String(describing: error))")
    }

    @Test("a line re-enabled by someone else is reported, not duplicated; a removed one is reported")
    func foreignChanges() throws {
        let paused = try CrontabPause.pause(Self.bytes(Self.salt), patterns: [Self.appCLI], pauseID: "p1")
        // Salt rewrites the whole file (all five back), then someone deletes one job outright.
        var lines = Self.salt.split(separator: "\n", omittingEmptySubsequences: false)
        lines.remove(at: 5)  // the collection-store-finished job
        let rewritten = lines.joined(separator: "\n")
        let status = CrontabPause.status(Self.bytes(rewritten), pauseID: "p1", paused: paused.lines)
        #expect(status.map(\.state) == [.reEnabled, .removed, .reEnabled, .reEnabled, .reEnabled])
        let resumed = CrontabPause.resume(Self.bytes(rewritten), pauseID: "p1", paused: paused.lines)
        #expect(resumed.text == Self.bytes(rewritten))

        // Marker lines still there, and Salt appended active copies: the markers go, nothing runs twice.
        let both =
            paused.text
            + Self.bytes(
                "0 * * * * cd /home/app/process && . .ve/bin/activate && python app-cli collection-store-finished\n"
            )
        let merged = CrontabPause.resume(both, pauseID: "p1", paused: paused.lines)
        #expect(merged.lines.filter { $0.state == .reEnabled }.count == 1)
        #expect(Self.text(merged.text).components(separatedBy: "collection-store-finished").count == 2)
    }

    @Test("another pause's markers are left alone")
    func otherPause() throws {
        let first = try CrontabPause.pause(Self.bytes(Self.salt), patterns: [Self.appCLI], pauseID: "p1")
        let resumed = CrontabPause.resume(first.text, pauseID: "p2", paused: [])
        #expect(resumed.text == first.text)
    }

    @Test("property: pause then resume is the identity on generated crontabs")
    func roundTripProperty() throws {
        var generator = SeededGenerator(seed: 0x5EED)
        var exercised = 0
        for _ in 0..<500 {
            let crontab = CrontabGenerator.crontab(using: &generator)
            guard
                let paused = try? CrontabPause.pause(
                    Self.bytes(crontab),
                    patterns: [CrontabGenerator.workerPattern],
                    pauseID: "prop"
                )
            else {
                // Only when no active worker job was generated (every generated job line starts with a digit, * or @).
                let jobs = crontab.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("worker-job") }
                #expect(jobs.isEmpty)
                continue
            }
            let resumed = CrontabPause.resume(paused.text, pauseID: "prop", paused: paused.lines)
            #expect(resumed.text == Self.bytes(crontab), "crontab: \(crontab.debugDescription)")
            #expect(resumed.lines.allSatisfy { $0.state == .paused })
            exercised += 1
        }
        #expect(exercised > 300)
    }

    @Test("property: resume after arbitrary foreign edits keeps those edits and removes every marker")
    func foreignEditsProperty() throws {
        var generator = SeededGenerator(seed: 0xED17)
        for _ in 0..<500 {
            let crontab = CrontabGenerator.crontab(using: &generator)
            guard
                let paused = try? CrontabPause.pause(
                    Self.bytes(crontab),
                    patterns: [CrontabGenerator.workerPattern],
                    pauseID: "prop"
                )
            else { continue }
            // Foreign edits: insert new lines, delete some non-marker lines, edit comments.
            var lines = Self.text(paused.text).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var foreign: [String] = []
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let line = "# foreign edit \(UInt32.random(in: 0...UInt32.max, using: &generator))"
                lines.insert(line, at: Int.random(in: 0...max(0, lines.count - 1), using: &generator))
                foreign.append(line)
            }
            if let victim = lines.indices.filter({
                !lines[$0].hasPrefix("#pgwarden") && !lines[$0].hasPrefix("# foreign")
            })
            .randomElement(using: &generator) {
                lines.remove(at: victim)
            }
            let edited = lines.joined(separator: "\n")
            let resumed = CrontabPause.resume(Self.bytes(edited), pauseID: "prop", paused: paused.lines)
            let result = Self.text(resumed.text)
            #expect(!result.contains("#pgwarden:paused:prop"))
            for line in foreign { #expect(result.contains(line)) }
            // Exactly the markers changed: removing them from the edited text gives the result.
            #expect(result == edited.replacingOccurrences(of: "#pgwarden:paused:prop ", with: ""))
        }
    }
}

/// A deterministic random source, so a failing generated case is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {  // SplitMix64
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Crontabs with every kind of line: jobs (some workers), environment, comments, blanks,
/// `@` schedules, odd whitespace, carriage returns, duplicates, and with or without a final newline.
enum CrontabGenerator {
    static let workerPattern = try! WorkerPattern("worker-job")

    static func crontab(using generator: inout SeededGenerator) -> String {
        let kinds: [(inout SeededGenerator) -> String] = [
            { _ in "" },
            { g in "MAILTO=ops\(Int.random(in: 0...9, using: &g))@example.org" },
            { _ in "PATH = /usr/local/bin:/usr/bin" },
            { g in "# comment \(Int.random(in: 0...99, using: &g)) 0 * * * * worker-job" },
            { _ in "#DISABLED#0 * * * * worker-job --old" },
            { g in "\(Int.random(in: 0...59, using: &g)) * * * * worker-job --queue \(Int.random(in: 0...3, using: &g))"
            },
            { _ in "*/5  1-3\t* jan mon-fri   /usr/bin/worker-job   --tabs" },
            { _ in "@reboot /home/app/bin/notify-boot" },
            { _ in "@hourly worker-job --hourly" },
            { g in "0 \(Int.random(in: 0...23, using: &g)) * * * /usr/bin/other-task" },
            { _ in "0 * * * * worker-job --dup" },
            { _ in "15 * * * * worker-job --crlf\r" },
            { _ in "   " },
        ]
        let count = Int.random(in: 0...14, using: &generator)
        let lines = (0..<count).map { _ in kinds.randomElement(using: &generator)!(&generator) }
        let finalNewline = Bool.random(using: &generator)
        return lines.joined(separator: "\n") + (finalNewline && !lines.isEmpty ? "\n" : "")
    }
}
