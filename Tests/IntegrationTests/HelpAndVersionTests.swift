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

    /// Every subcommand, as `--experimental-dump-help` lists them (a new one is tested without being named here).
    static func subcommands() async throws -> [[String]] {
        let dump = try await PGWardenCommand.run(["--experimental-dump-help"])
        let root = try JSONSerialization.jsonObject(with: Data(dump.standardOutput.utf8)) as? [String: Any]
        var found: [[String]] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                guard let name = sub["commandName"] as? String, name != "help" else { continue }
                found.append(path + [name])
                walk(sub, path + [name])
            }
        }
        walk(root?["command"] as? [String: Any] ?? [:], [])
        return found
    }

    @Test("--help and -h of every subcommand: its help on stdout, exit 0, every option with a value states its default")
    func everySubcommand() async throws {
        let commands = try await Self.subcommands()
        #expect(commands.contains(["forecast"]) && commands.contains(["workers", "pause"]) && commands.count >= 12)
        for command in commands {
            for flag in ["--help", "-h"] {
                let result = try await PGWardenCommand.run(command + [flag])
                let name = (command + [flag]).joined(separator: " ")
                #expect(result.status == 0, "pgwarden \(name): \(result.standardError)")
                #expect(result.standardOutput.contains("USAGE: pgwarden \(command.joined(separator: " "))"), "\(name)")
                #expect(result.standardError.isEmpty, "pgwarden \(name): \(result.standardError)")
                guard flag == "--help" else { continue }
                for block in Self.optionBlocks(result.standardOutput) where block.contains("<") {
                    let required =
                        (block.hasPrefix("  --policy <file>") && command == ["guard"]) || block.contains("required")
                    #expect(required || block.contains("default"), "pgwarden \(name): \(block)")
                }
            }
        }
        // After `--`, -h is Alembic's: not pgwarden's help.
        let passed = try await PGWardenCommand.run(["forecast", "--sql", "/nonexistent.sql", "--", "-h"])
        #expect(passed.status != 0 && !passed.standardOutput.contains("USAGE:"))
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
