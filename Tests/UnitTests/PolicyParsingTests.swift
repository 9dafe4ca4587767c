import ConfigFile
import Foundation
import Policy
import Testing

@Suite("Policy files")
struct PolicyParsingTests {
    /// The example of DESIGN.md.
    static let design = #"""
        interval = "500ms"
        dry_run = false
        max_actions_per_minute = 10          # a runaway rule cannot kill everything

        [protect]                            # never cancelled or terminated
        application_names = ["pg_dump*", "pg_basebackup"]
        users = ["replicator"]

        [[rule]]
        name = "idle transactions that block"
        blocking_for = "10s"                 # some session has waited on this blocker at least this long
        state = ["idle in transaction", "idle in transaction (aborted)"]
        action = "terminate"

        [[rule]]
        name = "long DELETEs blocking the migration"
        blocking_for = "30s"
        waiter_application_name = "pgwarden-migration*"
        query = "(?i)^\\s*delete"
        action = "cancel"
        escalate_after = "15s"               # still blocking this long after the cancel: terminate
        """#

    @Test("DESIGN.md's example reads as written")
    func designExample() throws {
        let policy = try Policy(parsing: Self.design, file: "policy.toml")
        #expect(policy.interval == .milliseconds(500))
        #expect(!policy.dryRun && policy.maxActionsPerMinute == 10)
        #expect(policy.protection.applicationNames.map(\.pattern) == ["pg_dump*", "pg_basebackup"])
        #expect(policy.protection.users == ["replicator"])
        #expect(policy.rules.map(\.name) == ["idle transactions that block", "long DELETEs blocking the migration"])
        let delete = policy.rules[1]
        #expect(delete.blockingFor == .seconds(30) && delete.action == .cancel && delete.escalateAfter == .seconds(15))
        #expect(delete.query?.matches("  DELETE FROM t") == true && delete.query?.matches("SELECT 1") == false)
        #expect(delete.waiterApplicationName?.matches("pgwarden-migration-42") == true)
        #expect(policy.rules[0].states == ["idle in transaction", "idle in transaction (aborted)"])
    }

    @Test(
        "each mistake is an error naming the file, the line and the key",
        arguments: [
            ("interval = \"soon\"", "p.toml:1: interval: 'soon' is not a duration (write 500ms, 10s, 5min or 1h)"),
            ("dry_run = \"no\"", "p.toml:1: dry_run: expected true or false, found a string"),
            ("max_actions_per_minute = 0", "p.toml:1: max_actions_per_minute: must be from 1 to 1000, not 0"),
            (
                "max_actions_per_minute = 9223372036854775807",
                "p.toml:1: max_actions_per_minute: must be from 1 to 1000, not 9223372036854775807"
            ),
            (
                "max_actions_per_minute = 1e300",
                "p.toml:1: max_actions_per_minute: expected a whole number from 1 to 1000, found a number"
            ),
            ("interval = 1e300", "p.toml:1: interval: a bare number has no unit: write \"500ms\" or \"500s\""),
            ("interval = 500", "p.toml:1: interval: a bare number has no unit: write \"500ms\" or \"500s\""),
            ("interval = 0.5", "p.toml:1: interval: a bare number has no unit: write \"0.5ms\" or \"0.5s\""),
            ("interval = \"500\"", "p.toml:1: interval: '500' has no unit: write 500ms or 500s"),
            // A negative bare number is told what the setting accepts, not how to write a refused value.
            (
                "interval = -1",
                "p.toml:1: interval: -1 must be at least 10ms: a shorter interval would poll the server without pause"
            ),
            ("interval = \"-abc\"", "p.toml:1: interval: '-abc' is not a duration (write 500ms, 10s, 5min or 1h)"),
            (
                "interval = \"-5s\"",
                "p.toml:1: interval: '-5s' must be at least 10ms: a shorter interval would poll the server without pause"
            ),
            (
                "interval = \"1ms\"",
                "p.toml:1: interval: '1ms' must be at least 10ms: a shorter interval would poll the server without pause"
            ),
            ("interval = \"1e300s\"", "p.toml:1: interval: '1e300s' is not a duration (write 500ms, 10s, 5min or 1h)"),
            (
                "interval = \"1\(String(repeating: "0", count: 300))s\"",
                // An error line quotes at most 200 characters of a value, then its size.
                "p.toml:1: interval: '1\(String(repeating: "0", count: 199))… (302 bytes)' must be at most 24d"
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"log\"\nblocking_for = 1e300",
                "p.toml:4: rule 'x': blocking_for: a bare number has no unit: write \"500ms\" or \"500s\""
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"cancel\"\nescalate_after = \"100000000000000000000d\"",
                "p.toml:4: rule 'x': escalate_after: '100000000000000000000d' must be at most 24d"
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"log\"\nmin_xact_age = 9223372036854775807",
                "p.toml:4: rule 'x': min_xact_age: a bare number has no unit: write \"9223372036854775807ms\" or \"9223372036854775807s\""
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"log\"\nmin_xact_age = \"0s\"",
                "p.toml:4: rule 'x': min_xact_age: '0s' must be longer than zero"
            ),
            (
                "intervall = \"1s\"",
                "p.toml:1: intervall: unknown key (known keys here: dry_run, interval, max_actions_per_minute)"
            ),
            ("[rule]\nname = \"x\"", "p.toml:1: unknown table [rule] (known: [protect], [preflight], [[rule]])"),
            ("[[rule]]\naction = \"log\"", "p.toml:1: name: every [[rule]] needs a name"),
            (
                "[[rule]]\nname = \"x\"\naction = \"kill\"",
                "p.toml:3: rule 'x': action: unknown action 'kill' (cancel, terminate or log)"
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"log\"\nquery = \"(x\"",
                "p.toml:4: rule 'x': query: '(x' is not a valid regular expression"
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"log\"\nstate = [\"idle in txn\"]",
                "p.toml:4: rule 'x': state: unknown state 'idle in txn' (known: active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled)"
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"terminate\"\nescalate_after = \"5s\"",
                "p.toml:4: rule 'x': escalate_after: only a cancel can escalate (to terminate)"
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"log\"\nblocking_for = true",
                "p.toml:4: rule 'x': blocking_for: expected a duration such as \"10s\", found a boolean"
            ),
            (
                "[[rule]]\nname = \"x\"\naction = \"log\"\n[[rule]]\nname = \"x\"\naction = \"log\"",
                "p.toml:4: name: two rules are named 'x'"
            ),
            (
                "[protect]\nusers = [\"a\", 1]",
                "p.toml:2: [protect]: users: expected an array of strings, found an integer in it"
            ),
            ("a.b = 1", "p.toml:1: dotted keys are not supported: write a [table] instead"),
            ("name = unquoted", "p.toml:1: 'unquoted' is not a value (strings need quotes)"),
            ("x = \"open", "p.toml:1: unterminated string"),
            ("interval = \"1s\"\ninterval = \"2s\"", "p.toml:2: interval: set twice (first at line 1)"),
            (
                "[preflight]\nterminate_idle_in_transactions = \"5m\"",
                "p.toml:2: [preflight]: terminate_idle_in_transactions: unknown key (known keys here: max_block, max_rewrite_mb, refuse_if_waits_on_protected, terminate_idle_in_transaction)"
            ),
            (
                "[preflight]\nterminate_idle_in_transaction = 300",
                "p.toml:2: [preflight]: terminate_idle_in_transaction: a bare number has no unit: write \"300ms\" or \"300s\""
            ),
            (
                "[preflight]\nmax_rewrite_mb = -1",
                "p.toml:2: [preflight]: max_rewrite_mb: must be from 0 to 1073741824, not -1"
            ),
            (
                "[preflight]\nrefuse_if_waits_on_protected = \"yes\"",
                "p.toml:2: [preflight]: refuse_if_waits_on_protected: expected true or false, found a string"
            ),
        ]
    )
    func errors(text: String, message: String) {
        let error = #expect(throws: ConfigError.self) { try Policy(parsing: text, file: "p.toml") }
        #expect(error?.summary == message)
    }

    /// `[preflight]` with every key, as README's example and the test below write it.
    static let everyPreflightKey = PreflightPolicy(
        terminateIdleInTransaction: .seconds(300),
        refuseIfWaitsOnProtected: true,
        maxRewriteMegabytes: 1024,
        maxBlock: .requestTimeout
    )

    @Test("[preflight]: read as written; absent, nothing acts before the migration")
    func preflight() throws {
        #expect(try Policy(parsing: Self.design, file: "p.toml").preflight == nil)
        let policy = try Policy(
            parsing: """
                [preflight]
                terminate_idle_in_transaction = "5m"
                refuse_if_waits_on_protected = true
                max_rewrite_mb = 1024
                max_block = "request-timeout"
                """,
            file: "p.toml"
        )
        #expect(policy.preflight == Self.everyPreflightKey)
        #expect(try Policy(parsing: "[preflight]", file: "p.toml").preflight == PreflightPolicy())
    }

    @Test("[preflight] max_block: a duration, or \"request-timeout\"; anything else names the line")
    func maxBlock() throws {
        let duration = try Policy(parsing: "[preflight]\nmax_block = \"5s\"", file: "p.toml")
        #expect(duration.preflight?.maxBlock == .duration(.seconds(5)))
        let timeout = try Policy(parsing: "[preflight]\nmax_block = \"request-timeout\"", file: "p.toml")
        #expect(timeout.preflight?.maxBlock == .requestTimeout)
        for bad in ["max_block = 5", "max_block = \"fast\"", "max_block = true"] {
            do {
                _ = try Policy(parsing: "[preflight]\n" + bad, file: "p.toml")
                Issue.record("\(bad) was accepted")
            } catch {
                #expect(error.summary.hasPrefix("p.toml:2: [preflight]: max_block: "), "\(error.summary)")
            }
        }
    }

    @Test("README's policy file reads as written, [preflight] and all")
    func readmeExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "### The policy file"))
        let tail = readme[section.upperBound...]
        let start = try #require(tail.range(of: "```toml\n"))
        let end = try #require(tail[start.upperBound...].range(of: "```"))
        let policy = try Policy(parsing: String(tail[start.upperBound..<end.lowerBound]), file: "README.md")
        #expect(policy.rules.count == 2)
        #expect(policy.preflight == Self.everyPreflightKey)
    }

    @Test("a file that is missing, a directory, or not UTF-8: one error naming the file")
    func unreadableFiles() throws {
        let binary = NSTemporaryDirectory() + "pgwarden-binary-\(UUID().uuidString).toml"
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: binary))
        let cases = [
            ("/nonexistent/policy.toml", "/nonexistent/policy.toml: no such policy file"),
            (
                NSTemporaryDirectory(),
                "\(NSTemporaryDirectory()): cannot read the policy file (permission denied, or a directory?)"
            ),
            (binary, "\(binary): the policy file is not UTF-8 text"),
        ]
        for (path, message) in cases {
            let error = #expect(throws: ConfigError.self) { try Policy(contentsOf: path) }
            #expect(error?.summary == message)
        }
    }

    @Test("arrays over several lines, literal strings, escapes and comments")
    func syntax() throws {
        let policy = try Policy(
            parsing: """
                # comment
                [protect]
                application_names = [
                  'pg_dump*',   # literal
                  "with \\"quotes\\"",
                ]
                """,
            file: "p.toml"
        )
        #expect(policy.protection.applicationNames.map(\.pattern) == ["pg_dump*", "with \"quotes\""])
    }

    @Test("arrays nest at most 16 deep: deeper is an error naming the line the array opens on")
    func depth() throws {
        let fine = "x = " + String(repeating: "[", count: 16) + String(repeating: "]", count: 16)
        _ = try ConfigDocument(parsing: fine, file: "p.toml")
        let deep = "a = 1\nx = [\n" + String(repeating: "[", count: 20) + String(repeating: "]", count: 20) + "\n]"
        #expect(throws: ConfigError.self) { try ConfigDocument(parsing: deep, file: "p.toml") }
        do {
            _ = try ConfigDocument(parsing: deep, file: "p.toml")
        } catch {
            #expect(error.summary == "p.toml:3: arrays nested more than 16 deep")
        }
        let huge = "x = " + String(repeating: "[", count: 100_000)
        #expect(throws: ConfigError.self) { try Policy(parsing: huge, file: "p.toml") }
    }

    @Test("a policy with CRLF line ends reads as the same policy with LF")
    func crlf() throws {
        let crlf = Self.design.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(crlf.contains("\r\n"))
        let policy = try Policy(parsing: crlf, file: "p.toml")
        let plain = try Policy(parsing: Self.design, file: "p.toml")
        #expect(policy.rules.map(\.name) == plain.rules.map(\.name))
        #expect(policy.rules.count == 2 && policy.protection.users == ["replicator"])
        #expect(policy.interval == plain.interval && policy.maxActionsPerMinute == plain.maxActionsPerMinute)
        let multiline = try ConfigDocument(parsing: "x = [\r\n  \"a\",\r\n  \"b\",\r\n]\r\ny = 1\r\n", file: "p.toml")
        #expect(multiline.root.entries.map(\.key) == ["x", "y"])
        #expect(multiline.root.entries.first?.value == .array([.string("a"), .string("b")]))
    }
}
