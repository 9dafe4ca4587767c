import FoundationEssentials
import Logging
import Reload
import WardenSupport
import Workers

#if canImport(Glibc)
    import Glibc
#endif

extension HostPreflight {
    /// This host's answer to `request` (`pgwarden workers set preflight`): each set planned as `workers set plan`
    /// plans it, each app server checked as `reload` checks it before asking for the reload, nothing changed.
    /// A failure is that entry's verdict, never a failure of the whole answer.
    package static func answer(
        _ request: Request,
        version: String,
        stateDirectory: StateDirectory,
        logger: Logger
    ) async -> Answer {
        var sets: [Verdict] = []
        for spec in request.sets {
            do {
                if case .command(let set) = spec { try await Supervisor.checkPrograms(set) }
                // The plan's id names no pause: nothing is journaled by a plan.
                let answer = try await RemoteSet(stateDirectory: stateDirectory, logger: logger).plan(
                    spec,
                    id: "0-plan"
                )
                sets.append(Verdict(said: answer.said))
            } catch {
                sets.append(Verdict(error: Supervisor.describe(error)))
            }
        }
        var servers: [Verdict] = []
        for strategy in request.appServers {
            do {
                let master = try await UWSGIReload(strategy: strategy, logger: logger).preflight()
                servers.append(
                    Verdict(said: master.map { ["\($0.kind.rawValue) master pid \($0.process.pid)"] } ?? [])
                )
            } catch {
                servers.append(Verdict(error: Supervisor.describe(error)))
            }
        }
        return Answer(
            version: version,
            identity: HostIdentity.current(stateDirectory: stateDirectory),
            sets: sets,
            appServers: servers
        )
    }
}

/// Which host answers: the kernel's boot id (`/proc/sys/kernel/random/boot_id`, random at each boot; else
/// `/etc/machine-id`, else the hostname) and its state directory's device and inode (its path when it does not exist
/// yet). Two names of one host (an alias, its address) answer the same; two machines answer differently, clones of
/// one image included (their machine ids, inodes and devices may be equal, their boot ids are not); two state
/// directories of one kernel (containers) differ by device and inode.
package enum HostIdentity {
    package static func current(stateDirectory: StateDirectory) -> String {
        let machine =
            ["/proc/sys/kernel/random/boot_id", "/etc/machine-id"].lazy
            .map { ((try? String(contentsOfFile: $0, encoding: .utf8)) ?? "").trimmedOfWhitespace }
            .first { !$0.isEmpty } ?? hostname()
        var status = stat()
        let directory =
            stat(stateDirectory.path, &status) == 0 ? "\(status.st_dev):\(status.st_ino)" : stateDirectory.path
        return machine + "/" + directory
    }

    private static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(cString: buffer)
    }
}
