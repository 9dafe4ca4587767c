import FoundationEssentials
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The `pg_dump` and `psql` a rehearsal copies the schema with: of the server's major or newer, from one directory.
package struct ClientTools: Sendable, Equatable {
    /// `pg_dump`'s path.
    package var pgDump: String
    /// `psql` beside it.
    package var psql: String
    /// `pg_dump --version`'s major.
    package var major: Int

    /// The environment variable that names the `pg_dump` to use (its directory's `psql` restores).
    package static let overrideVariable = "PGWARDEN_PG_DUMP"

    /// The first fitting `pg_dump`, in order: `override` (the flag or ``overrideVariable``, which must fit); Debian's
    /// `/usr/lib/postgresql/N/bin`, lowest N at least `serverMajor` first; the PostgreSQL wheels' `pginstall/bin`
    /// under a `.venv/postgresql/N` of the working directory or of a directory above pgwarden's executable; `PATH`.
    ///
    /// - Returns: the tools, or why none fits, in one sentence.
    package static func locate(serverMajor: Int, override: String?) async -> Result<ClientTools, RehearsalUnavailable> {
        if let override, !override.isEmpty {
            switch await probe(override) {
            case .some(let tools) where tools.major >= serverMajor: return .success(tools)
            case .some(let tools):
                return .failure(
                    RehearsalUnavailable(
                        "\(override) is pg_dump \(tools.major), older than the server's PostgreSQL \(serverMajor)"
                    )
                )
            case nil:
                return .failure(RehearsalUnavailable("\(override) is not a pg_dump with a psql beside it"))
            }
        }
        var seen: [String] = []
        for candidate in candidates() where !seen.contains(candidate) {
            seen.append(candidate)
            guard let tools = await probe(candidate) else { continue }
            if tools.major >= serverMajor { return .success(tools) }
        }
        return .failure(
            RehearsalUnavailable(
                "no pg_dump of PostgreSQL \(serverMajor) or newer with a psql beside it"
                    + " (install postgresql-client-\(serverMajor), or name one with --pg-dump or \(overrideVariable))"
            )
        )
    }

    /// Candidate `pg_dump` paths, best first (Debian's by ascending major).
    static func candidates() -> [String] {
        let files = FileManager.default
        var paths: [String] = []
        let debian = (try? files.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for major in debian.compactMap(Int.init).sorted() {
            paths.append("/usr/lib/postgresql/\(major)/bin/pg_dump")
        }
        var roots = [files.currentDirectoryPath]
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<4 {
            roots.append(directory.path)
            directory = directory.deletingLastPathComponent()
        }
        var wheels: [(Int, String)] = []
        for root in roots {
            let base = root + "/.venv/postgresql"
            for major in ((try? files.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init) {
                for module in (try? files.contentsOfDirectory(atPath: "\(base)/\(major)")) ?? [] {
                    let path = "\(base)/\(major)/\(module)/pginstall/bin/pg_dump"
                    if files.isExecutableFile(atPath: path) { wheels.append((major, path)) }
                }
            }
        }
        paths += wheels.sorted { $0.0 < $1.0 }.map(\.1)
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            paths.append(directory + "/pg_dump")
        }
        return paths
    }

    /// The tools at `path`, when it is an executable `pg_dump` that states its version and has a `psql` beside it.
    static func probe(_ path: String) async -> ClientTools? {
        let files = FileManager.default
        let psql = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("psql").path
        guard files.isExecutableFile(atPath: path), files.isExecutableFile(atPath: psql) else { return nil }
        guard
            let run = try? await Subprocess.run(
                .path(FilePath(path)),
                arguments: ["--version"],
                input: .none,
                output: .string(limit: 4096),
                error: .discarded
            ),
            case .exited(0) = run.terminationStatus, case let text = run.standardOutput,
            let major = Self.major(ofVersionLine: text)
        else { return nil }
        return ClientTools(pgDump: path, psql: psql, major: major)
    }

    /// 16 of `pg_dump (PostgreSQL) 16.2` or `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`.
    static func major(ofVersionLine line: String) -> Int? {
        let parts = line.split(separator: "(PostgreSQL) ", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return Int(parts[1].prefix { $0.isNumber })
    }
}

/// Why no rehearsal could be made: the forecast then goes on statically, and says so once.
package struct RehearsalUnavailable: Error, Sendable, Equatable {
    /// One sentence.
    package var reason: String

    package init(_ reason: String) {
        self.reason = reason
    }
}
