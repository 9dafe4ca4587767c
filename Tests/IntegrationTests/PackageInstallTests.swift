import Foundation
import TestSupport
import Testing

/// The Debian package, installed and removed the way an operator does: as root, with apt, on this machine.
@Suite(
    "The Debian package",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason),
    .enabled(if: getuid() == 0, "apt install needs root (CI runs as root)")
)
struct PackageInstallTests {
    static let packageRoot = UpgradeFixture.packageRoot
    static let conffiles = ["/etc/default/pgwarden-guard", "/etc/logrotate.d/pgwarden"]
    static let architecture =
        (try? TestCrontab.run("/usr/bin/dpkg", ["--print-architecture"]).output)?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"

    @Test(
        "scripts/package, apt install, pgwarden under env -i, apt remove keeps the configuration, apt purge leaves nothing"
    )
    func installRemovePurge() async throws {
        let before = try await Self.run("/usr/bin/dpkg-query", ["-W", "-f", "${Status}", "pgwarden"])
        try #require(
            !before.output.contains(" installed") && !before.output.contains("config-files"),
            "a pgwarden package is already on this machine (\(before.output)): the test would replace it"
        )
        let output = NSTemporaryDirectory() + "pgwarden-package-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: output) }
        let started = ContinuousClock.now
        let package = try await Self.run(Self.packageRoot + "/scripts/package", [output])
        try #require(package.status == 0, "\(package.output)\n\(package.error)")
        let built = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
        let deb = try #require(built.first { $0.hasPrefix("pgwarden_") && $0.hasSuffix(".deb") }, "\(built)")
        #expect(built.contains(deb.replacingOccurrences(of: ".deb", with: ".debug")), "\(built)")
        print("scripts/package: \(ContinuousClock.now - started)")

        do {
            try await installed(deb: output + "/" + deb)
        } catch {
            _ = try? await Self.apt(["purge", "pgwarden"])
            throw error
        }
    }

    /// From `apt install` to `apt purge`.
    private func installed(deb: String) async throws {
        let install = try await Self.apt(["install", deb])
        try #require(install.status == 0, "\(install.output)\n\(install.error)")

        // The package's version is the binary's, and the binary runs with nothing of the toolchain anywhere.
        let version = try await Self.run("/usr/bin/env", ["-i", "/usr/bin/pgwarden", "--version"])
        let packaged = try await Self.run("/usr/bin/dpkg-query", ["-W", "-f", "${Version}", "pgwarden"])
        #expect(version.output.hasPrefix("pgwarden \(packaged.output), libpq "), "\(version.output) \(packaged.output)")
        #expect(deb.hasSuffix("/pgwarden_\(packaged.output)_\(Self.architecture).deb"), "\(deb)")
        let libraries = try await Self.run("/usr/bin/ldd", ["/usr/bin/pgwarden"])
        #expect(libraries.output.contains("libpq.so.5") && !libraries.output.contains("swift"), "\(libraries.output)")
        let environment = ProcessInfo.processInfo.environment
        let dsn =
            "host=\(environment["PGHOST"] ?? "") port=\(environment["PGPORT"] ?? "") user=postgres dbname=postgres"
        let locks = try await Self.run("/usr/bin/env", ["-i", "/usr/bin/pgwarden", "locks", "--json", "--dsn", dsn])
        #expect(locks.status == 0, "\(locks.error)")
        #expect((try? JSONSerialization.jsonObject(with: Data(locks.output.utf8))) != nil, "\(locks.output)")

        let manual = try await Self.run("/usr/bin/man", ["-w", "pgwarden"])
        #expect(manual.output.trimmingCharacters(in: .whitespacesAndNewlines) == "/usr/share/man/man1/pgwarden.1.gz")
        for file in [
            "/usr/share/bash-completion/completions/pgwarden", "/usr/share/zsh/vendor-completions/_pgwarden",
            "/usr/share/fish/vendor_completions.d/pgwarden.fish",
        ] {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            #expect(text.contains("pgwarden") && text.contains("locks"), "\(file)")
        }
        let unit = try String(contentsOfFile: "/usr/lib/systemd/system/pgwarden-guard.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/pgwarden guard") && unit.contains("User=pgwarden"))
        #expect(
            !FileManager.default.fileExists(
                atPath: "/etc/systemd/system/multi-user.target.wants/pgwarden-guard.service"
            )
        )
        let user = try await Self.run("/usr/bin/getent", ["passwd", "pgwarden"])
        #expect(user.output.hasSuffix(":/usr/sbin/nologin\n"), "\(user.output)")

        // apt remove: only the configuration is left, and dpkg knows it as such.
        try FileManager.default.createDirectory(atPath: "/var/log/pgwarden", withIntermediateDirectories: true)
        #expect(try await Self.apt(["remove", "pgwarden"]).status == 0)
        let status = try await Self.run("/usr/bin/dpkg-query", ["-W", "-f", "${Status}", "pgwarden"])
        #expect(status.output == "deinstall ok config-files", "\(status.output)")
        let left = try await Self.run("/usr/bin/dpkg", ["-L", "pgwarden"])
        let files = left.output.split(separator: "\n").map(String.init).filter { path in
            var directory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && !directory.boolValue
        }
        #expect(files.sorted() == Self.conffiles, "\(left.output)")
        #expect(!FileManager.default.fileExists(atPath: "/usr/bin/pgwarden"))

        // apt purge: nothing at all.
        #expect(try await Self.apt(["purge", "pgwarden"]).status == 0)
        let purged = try await Self.run("/usr/bin/dpkg", ["-L", "pgwarden"])
        #expect(purged.status != 0, "\(purged.output)")
        for path in Self.conffiles + ["/var/log/pgwarden", "/usr/share/doc/pgwarden"] {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path)")
        }
    }

    private static func apt(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
        try await run(
            "/usr/bin/apt-get",
            ["-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300"] + arguments,
            environment: ["DEBIAN_FRONTEND": "noninteractive"]
        )
    }

    private static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String, error: String) {
        try await TestCrontab.runOffPool(executable, arguments, environment: environment)
    }
}
