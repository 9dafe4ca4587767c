import Foundation
import Postgres
import TestSupport
import Testing

/// Other people's text (role, table and database names, query text) reaches the operator's
/// terminal with every control character shown visibly, never acted on.
@Suite("Hostile text on the terminal", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct HostileTextTests {
    /// ESC ] 0 ; … BEL sets the window title.
    static let titleSequence = "\u{1B}]0;pwned\u{07}"
    /// ESC [ 2 J clears the screen.
    static let clearSequence = "\u{1B}[2J"
    /// OSC 52 writes "pwned" to the clipboard; CSI as one C1 character.
    static let clipboardSequence = "\u{1B}]52;c;cHduZWQ=\u{07}\u{9B}31m"

    /// A role and a table whose names carry escapes, and a session of that role idle in a transaction that
    /// read the table with escapes in its query's comment: what the tests show an operator. The body gets the
    /// database, the role, the table (quoted), the owner's session and the reader's.
    static func withHostileReader(
        _ body: (ScratchDatabase, String, String, Connection, Connection) async throws -> Void
    ) async throws {
        let role = "pgw" + titleSequence + TestCluster.uniqueName("r").suffix(6)
        let admin = try await TestCluster.administrator()
        _ = try await admin.query("CREATE ROLE \(quoted(role)) LOGIN")
        defer {
            Task {
                _ = try? await admin.query("DROP ROLE IF EXISTS \(quoted(role))"); await admin.close()
            }
        }
        try await ScratchDatabase.with { database in
            let table = quoted("t" + clearSequence)
            let owner = try await database.session()
            _ = try await owner.query("CREATE TABLE \(table) (id int)")
            _ = try await owner.query("GRANT SELECT ON \(table) TO \(quoted(role))")
            let reader = try await database.session("reader", user: "'\(role)'")
            _ = try await reader.query("BEGIN")
            _ = try await reader.query("SELECT count(*) FROM \(table) /* \(clipboardSequence) */")
            try await body(database, role, table, owner, reader)
        }
    }

    @Test("pgwarden locks on a terminal: a role, a table and a query full of escapes are shown, not obeyed")
    func locksOnTerminal() async throws {
        try await Self.withHostileReader { database, role, table, owner, reader in
            let alter = try await database.startBlockedStatement("ALTER TABLE \(table) ADD COLUMN c int", "alembic")
            try await database.waitUntilWaiting(alter.pid, observer: owner)

            let plain = try await PseudoTerminal.run(
                ["locks", "--dsn", database.connectionString],
                environment: ["NO_COLOR": "1", "COLUMNS": "400"]
            )
            #expect(plain.status == 0, "\(plain.text)")
            #expect(PseudoTerminal.controlBytes(in: plain.bytes).isEmpty, "\(plain.text.debugDescription)")
            #expect(plain.text.contains("pgw\\e]0;pwned\\x07"))
            #expect(plain.text.contains("relation public.\"t\\e[2J\""))
            #expect(plain.text.contains("/* \\e]52;c;cHduZWQ=\\x07\\u{9b}31m */"))

            // In colour, the only escapes are pgwarden's own.
            let coloured = try await PseudoTerminal.run(
                ["locks", "--dsn", database.connectionString],
                environment: ["NO_COLOR": "", "COLUMNS": "400"]
            )
            var text = coloured.text
            for own in ["\u{1B}[1;31m", "\u{1B}[0m", "\u{1B}[33m"] {
                text = text.replacingOccurrences(of: own, with: "")
            }
            #expect(coloured.text.contains("\u{1B}[1;31m"))
            #expect(PseudoTerminal.controlBytes(in: Array(text.utf8)).isEmpty, "\(coloured.text.debugDescription)")

            // JSON stays exact: escaped, the same names.
            let json = try await PGWardenCommand.run(["locks", "--json", "--dsn", database.connectionString])
            #expect(PseudoTerminal.controlBytes(in: Array(json.standardOutput.utf8)).isEmpty)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            )
            let blockers = try #require(object["blockers"] as? [[String: Any]])
            #expect(blockers.first?["usename"] as? String == role)
            #expect((blockers.first?["query"] as? String)?.contains(Self.clipboardSequence) == true)

            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
            await reader.close()
            await owner.close()
        }
    }

    @Test(
        "pgwarden upgrade on a terminal: its log, the prompt and the migration's own lines show escapes, hide passwords"
    )
    func upgradeOnTerminal() async throws {
        try await Self.withHostileReader { database, _, _, owner, reader in
            let secret = "S3cr3tPw" + TestCluster.uniqueName("").suffix(4)
            let migration = """
                printf '\\033]0;pwned\\007 \\302\\233 connecting with password=\(secret)\\n'
                psql -X -q -c 'ALTER TABLE "t\(Self.clearSequence)" ADD COLUMN c int'
                """
            let state = NSTemporaryDirectory() + "pgwarden-hostile-" + UUID().uuidString
            let output = try await PseudoTerminal.run(
                [
                    "upgrade", "--dsn", database.connectionString, "--interactive", "--max-lock-wait", "2s",
                    "--state-dir", state, "--", "/bin/sh", "-c", migration,
                ],
                environment: ["NO_COLOR": "1"]
            )
            #expect(output.status != 0)
            #expect(PseudoTerminal.controlBytes(in: output.bytes).isEmpty, "\(output.text.debugDescription)")
            #expect(!output.text.contains(secret), "\(output.text)")
            #expect(output.text.contains("] \\e]0;pwned\\x07 \\u{9b} connecting with password=***"))
            #expect(output.text.contains("waits for AccessExclusiveLock on relation public.\"t\\e[2J\""))
            #expect(output.text.contains("pgw\\e]0;pwned\\x07"))
            #expect(output.text.contains("[c]ancel, [t]erminate"))
            for file in FileManager.default.enumerator(atPath: state)?.allObjects as? [String] ?? [] {
                let contents = (try? String(contentsOfFile: state + "/" + file, encoding: .utf8)) ?? ""
                #expect(!contents.contains(secret), "\(file)")
            }
            _ = try await reader.query("ROLLBACK")
            await reader.close()
            await owner.close()
            try? FileManager.default.removeItem(atPath: state)
        }
    }

    @Test("an error line quoting a hostile database name is shown, not obeyed")
    func errorLineOnTerminal() async throws {
        let output = try await PseudoTerminal.run(
            ["locks", "--dsn", "dbname='pgw\(Self.titleSequence)\(Self.clearSequence)'"],
            environment: ["NO_COLOR": "1"]
        )
        #expect(output.status == 1)
        #expect(output.text.hasPrefix("error: "))
        #expect(output.text.contains("pgw\\e]0;pwned\\x07\\e[2J"))
        #expect(PseudoTerminal.controlBytes(in: output.bytes).isEmpty, "\(output.text.debugDescription)")
    }
}

/// `name` as an SQL identifier.
private func quoted(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
