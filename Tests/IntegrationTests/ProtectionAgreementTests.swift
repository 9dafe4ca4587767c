import Foundation
import TestSupport
import Testing

/// What `guard --help`, `upgrade --help`, the man page and the README promise about the guard and a
/// supervised migration: one sentence, the same everywhere, and the old promise (protection by
/// the name `pgwarden-migration-*`) nowhere.
@Suite("protection: help, man page and README agree")
struct ProtectionAgreementTests {
    static let promise =
        "A pgwarden guard leaves alone the sessions of a migration that a pgwarden upgrade supervises: the upgrade"
        + " claims them in the database, and the guard trusts a claim only from a role in [protect] upgrade_roles"
        + " (default: its own role), checked by pid and backend start; a session named pgwarden-migration-* gains"
        + " nothing by its name."
    static let oldPromise = "(application_name pgwarden-migration-*)"

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Whitespace runs as one space, Markdown code marks dropped.
    static func normalized(_ text: String) -> String {
        text.replacingOccurrences(of: "`", with: "").split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// The text of a man page source: requests dropped, font and character escapes undone.
    static func roffText(_ source: String) -> String {
        var text = source.split(separator: "\n").filter { !$0.hasPrefix(".") }.joined(separator: " ")
        for (escape, plain) in [("\\fB", ""), ("\\fR", ""), ("\\fI", ""), ("\\-", "-"), ("\\&", ""), ("\\e", "\\")] {
            text = text.replacingOccurrences(of: escape, with: plain)
        }
        return normalized(text)
    }

    @Test("guard --help, upgrade --help, the man page and the README make the same promise")
    func samePromise() async throws {
        var texts: [String: String] = [:]
        for command in ["guard", "upgrade"] {
            let help = try await PGWardenCommand.run([command, "--help"])
            #expect(help.status == 0)
            texts["\(command) --help"] = Self.normalized(help.standardOutput)
        }
        texts["README.md"] = Self.normalized(
            try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        )
        let page = FileManager.default.temporaryDirectory.appendingPathComponent(TestCluster.uniqueName("pgwarden"))
            .appendingPathExtension("1").path
        defer { try? FileManager.default.removeItem(atPath: page) }
        let generated = try await TestCrontab.runOffPool(
            "/usr/bin/python3",
            [Self.root.appendingPathComponent("scripts/manpage").path, PGWardenCommand.executable.path, page]
        )
        #expect(generated.status == 0, "\(generated.error)")
        let man = Self.roffText(try String(contentsOfFile: page, encoding: .utf8))
        texts["man page"] = man
        for (source, text) in texts {
            #expect(text.contains(Self.promise), "\(source) does not make the promise")
            #expect(!text.contains(Self.oldPromise), "\(source) still promises protection by name")
        }
        // In the man page twice: the guard's section (from its help) and POLICY FILE (from the README).
        #expect(man.components(separatedBy: Self.promise).count - 1 >= 3, "guard, upgrade and POLICY FILE")
    }
}
