import ConfigFile
import Foundation
import Supervisor
import Testing

@Suite("Two sets that would pause the same crontab or program are refused before anything changes")
struct DeploymentFileOverlapsTests {
    func settings(_ text: String) throws -> UpgradeSettings {
        let path = NSTemporaryDirectory() + "pgwarden-overlaps-" + UUID().uuidString + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try UpgradeSettings.fromConfigFile(path)
    }

    func crontab(_ user: String?, host: String? = nil, match: String = "a") -> String {
        "[[workers]]\nkind = \"crontab\"\nmatch = [\"\(match)\"]\n" + (user.map { "user = \"\($0)\"\n" } ?? "")
            + (host.map { "host = \"\($0)\"\n" } ?? "")
    }

    func supervisor(_ programs: String, host: String? = nil) -> String {
        "[[workers]]\nkind = \"supervisor\"\nprograms = [\(programs)]\n" + (host.map { "host = \"\($0)\"\n" } ?? "")
    }

    func message(_ text: String) -> String? {
        do {
            _ = try settings(text)
            return nil
        } catch {
            return (error as? ConfigError).map { "\($0.key ?? ""): \($0.message)" }
        }
    }

    @Test("one user's crontab twice on one host, or one program twice: the error names the second entry and the first")
    func refused() {
        let twice = message(crontab("app") + crontab("app", match: "b"))
        #expect(twice?.contains("workers[2]") == true, "\(twice ?? "accepted")")
        #expect(twice?.contains("the crontab of app is already paused by workers[1]") == true, "\(twice ?? "")")
        let remote = message(crontab("app", host: "web1") + crontab("app", host: "web1"))
        #expect(remote?.contains("the crontab of app on web1 is already paused by workers[1]") == true)
        #expect(message(crontab(nil) + crontab(nil, match: "b")) != nil)
        let program = message(supervisor("\"report\", \"mailer\"") + supervisor("\"mailer\""))
        #expect(program?.contains("program mailer is already paused by workers[1]") == true, "\(program ?? "")")
    }

    @Test("the same user on other hosts, other users, other programs: accepted")
    func accepted() {
        #expect(message(crontab("app", host: "web1") + crontab("app", host: "web2") + crontab("app")) == nil)
        #expect(message(crontab("app") + crontab("reports")) == nil)
        #expect(
            message(supervisor("\"report\"") + supervisor("\"mailer\"") + supervisor("\"report\"", host: "w1")) == nil
        )
    }
}
