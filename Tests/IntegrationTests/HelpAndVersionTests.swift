import Foundation
import Postgres
import TestSupport
import Testing

/// `--help` and `--version`, as an operator reads them.
@Suite("help and version")
struct HelpAndVersionTests {
    /// The option blocks of a help text: each starts at a line `  --name …` and runs to the next.
    static func optionBlocks(_ help: String) -> [String] {
        var blocks: [String] = []
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  -") {
                blocks.append(String(line))
            } else if !blocks.isEmpty, line.hasPrefix("      ") {
                blocks[blocks.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            } else if !blocks.isEmpty, !line.hasPrefix("  -") {
                blocks.append("")
            }
        }
        return blocks.filter { !$0.isEmpty }
    }

    @Test(
        "every option that takes a value states its default",
        arguments: [
            ["upgrade"], ["recover"], ["status"], ["locks"], ["cancel"], ["guard"], ["reload"],
            ["workers", "pause"], ["workers", "resume"], ["workers", "status"],
        ]
    )
    func defaults(_ command: [String]) async throws {
        let result = try await PGWardenCommand.run(command + ["--help"])
        #expect(result.status == 0)
        let blocks = Self.optionBlocks(result.standardOutput)
        #expect(!blocks.isEmpty)
        for block in blocks where block.contains("<") {
            // A required option has no default; `--policy` of guard and the pids of cancel are required.
            let required =
                (block.hasPrefix("  --policy <file>") && command == ["guard"]) || block.contains("required")
            #expect(required || block.contains("default"), "pgwarden \(command.joined(separator: " ")): \(block)")
        }
    }

    @Test("--version: pgwarden's version and the libpq it runs with")
    func version() async throws {
        let result = try await PGWardenCommand.run(["--version"])
        #expect(result.status == 0)
        #expect(result.standardOutput == "pgwarden 0.1.0, libpq \(LibPQVersion.text)\n")
        #expect(LibPQVersion.number >= 100_000 && LibPQVersion.format(150_004) == "15.4")
        #expect(LibPQVersion.format(90_624) == "9.6.24")
    }

    @Test(
        "the man page: every section an operator needs, arrows kept, no warning from man --warnings",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/man"), "man is not installed")
    )
    func manPage() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = FileManager.default.temporaryDirectory.appendingPathComponent(TestCluster.uniqueName("pgwarden"))
            .appendingPathExtension("1").path
        defer { try? FileManager.default.removeItem(atPath: page) }
        let generated = try await TestCrontab.runOffPool(
            "/usr/bin/python3",
            [root.appendingPathComponent("scripts/manpage").path, PGWardenCommand.executable.path, page]
        )
        #expect(generated.status == 0, "\(generated.error)")
        let source = try String(contentsOfFile: page, encoding: .utf8)
        for section in [
            "NAME", "SYNOPSIS", "COMMANDS", "POLICY FILE", "AUDIT LOG", "EXIT STATUS", "ENVIRONMENT", "FILES",
        ] {
            #expect(source.contains("\n.SH \(section)\n"), "section \(section)")
        }
        #expect(source.contains(".SS pgwarden locks") && source.contains(".SS pgwarden workers pause"))
        #expect(source.contains("\\(->") && source.contains("\\(ua"), "arrows kept as groff escapes")
        #expect(!source.contains("\n\n"), "no empty input lines")
        #expect(source.contains(".TP\n75\n") && source.contains(".TP\n70\n"))
        let rendered = try await TestCrontab.runOffPool(
            "/usr/bin/man",
            ["--warnings", "-l", page],
            environment: ["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"]
        )
        #expect(rendered.status == 0)
        #expect(rendered.error.isEmpty, "\(rendered.error)")
        #expect(rendered.output.contains("max_actions_per_minute"))
    }
}
