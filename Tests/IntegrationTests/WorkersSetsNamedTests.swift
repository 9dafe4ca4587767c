import Foundation
import TestSupport
import Testing
import WardenSupport
import Workers

/// A deployment file's sets live in `sets/` and only `recover` resumes them: `workers resume` and `workers status`
/// must not say "nothing is paused" over them.
@Suite("workers resume and status name the sets only recover resumes")
struct WorkersSetsNamedTests {
    @Test("a set paused in sets/: workers resume and status name it, hint recover and exit 3; recover resumes it")
    func setsAreNamed() async throws {
        let directory = FileManager.default.temporaryDirectory.path + "/pgw-sets-named-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = directory + "-paused"
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let spec = WorkerSetSpec.command(
            CommandSetSpec(pause: ["/usr/bin/touch", marker], resume: ["/bin/rm", marker])
        )
        let json = String(decoding: try JournalCoding.encode(spec), as: UTF8.self)
        let id = "20261207T170000Z-5e1d-w01"
        let paused = try await PGWardenCommand.run(
            ["workers", "set", "pause", "--state-dir", directory, "--pause-id", id, "--spec", json]
        )
        #expect(paused.status == 0, "\(paused.standardError)")
        #expect(FileManager.default.fileExists(atPath: marker))

        for command in ["resume", "status"] {
            let answer = try await PGWardenCommand.run(["workers", command, "--state-dir", directory])
            #expect(answer.status == ExitStatus.needsRecovery, "workers \(command): \(answer.standardError)")
            #expect(answer.standardError.contains("1 worker set of a deployment file's run is still paused here"))
            #expect(answer.standardError.contains("sets/\(id)"))
            #expect(answer.standardError.contains("hint: pgwarden recover --state-dir \(directory)"))
            #expect(FileManager.default.fileExists(atPath: marker), "workers \(command) left the set alone")
        }

        let status = try await PGWardenCommand.run(["status", "--state-dir", directory])
        #expect(status.status == ExitStatus.needsRecovery, "\(status.standardOutput)")
        #expect(status.standardOutput.contains("set \(id): paused"), "\(status.standardOutput)")

        let recovered = try await PGWardenCommand.run(["recover", "--state-dir", directory])
        #expect(recovered.status == 0, "\(recovered.standardOutput)\(recovered.standardError)")
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(!recovered.standardOutput.contains("no workers were paused"), "\(recovered.standardOutput)")
        let after = try await PGWardenCommand.run(["workers", "resume", "--state-dir", directory])
        #expect(after.status == 0, "\(after.standardError)")
        #expect(!after.standardError.contains("still paused"))
        let clear = try await PGWardenCommand.run(["status", "--state-dir", directory])
        #expect(clear.status == 0, "\(clear.standardOutput)")
    }
}

@Suite("status and recover with a state directory that is not one")
struct StateDirectoryTypoTests {
    @Test("a named state directory that does not exist, or is a file: one error line, exit 1, nothing made")
    func typo() async throws {
        let missing = FileManager.default.temporaryDirectory.path + "/pgw-typo-\(UUID().uuidString)"
        for command in ["status", "recover"] {
            for path in [missing, "/etc/hostname"] {
                let answer = try await PGWardenCommand.run([command, "--state-dir", path])
                #expect(answer.status == 1, "\(command) \(path): \(answer.standardOutput)")
                #expect(answer.standardError.hasPrefix("error: "), "\(answer.standardError)")
                #expect(!answer.standardOutput.contains("no run recorded"))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
