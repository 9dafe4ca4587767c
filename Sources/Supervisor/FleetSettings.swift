import ConfigFile
import FoundationEssentials
import WardenSupport
import Workers

/// How the coordinator reaches the other hosts of a deployment file: the top-level `ssh_config`,
/// `remote_pgwarden`, `connect_timeout`, `remote_step_timeout`, `remote_resume_retry`, `parallel_hosts`, and each
/// `[[workers]]` entry's `host`.
package struct FleetSettings: Sendable {
    /// `ssh -F FILE`; `nil`: the operator's own ssh configuration.
    package var sshConfig: String?
    /// The pgwarden program on the hosts.
    package var program = "pgwarden"
    package var connectTimeout: Duration = .seconds(10)
    package var stepTimeout: Duration = .seconds(300)
    /// How long a resume keeps retrying an unreachable host (with backoff) before naming it.
    package var resumeRetryFor: Duration = .seconds(30)
    /// How many hosts are asked at once (pause, resume, preflight); app servers still reload one host at a time.
    package var parallelHosts = 8
    /// The bounds of `parallel_hosts`.
    package static let parallelHostsRange = 1...64
    /// This pgwarden's version: the hosts' must have the same minor.
    package var localVersion = ""
    /// Each `[[workers]]` entry's `host`, in order (`nil`: here).
    package var workerHosts: [String?] = []

    package init() {}

    /// The host of set `index`, or `nil` when it runs here.
    package func host(ofSet index: Int) -> String? {
        index < workerHosts.count ? workerHosts[index] : nil
    }

    /// The runner of steps on `host`.
    package func runner(_ host: String) -> RemoteRunner {
        RemoteRunner(
            RemoteCommand(destination: host, sshConfig: sshConfig, connectTimeout: connectTimeout, program: program),
            stepTimeout: stepTimeout
        )
    }

    /// The top-level keys, read from the root table of a `--config` file.
    mutating func read(_ reader: inout ConfigTableReader) throws(ConfigError) {
        sshConfig = try reader.string("ssh_config")
        program = try reader.string("remote_pgwarden") ?? program
        connectTimeout = try reader.duration("connect_timeout") ?? connectTimeout
        stepTimeout = try reader.duration("remote_step_timeout") ?? stepTimeout
        resumeRetryFor = try reader.duration("remote_resume_retry") ?? resumeRetryFor
        parallelHosts = try reader.integer("parallel_hosts", in: Self.parallelHostsRange) ?? parallelHosts
    }

    /// Each `[[workers]]` entry's `host`: checked as an ssh destination.
    static func hosts(_ document: ConfigDocument, of array: String) throws(ConfigError) -> [String?] {
        var hosts: [String?] = []
        for (index, table) in (document.arrayTables[array] ?? []).enumerated() {
            let reader = ConfigTableReader(table, file: document.file, context: "\(array)[\(index + 1)]")
            var copy = reader
            let host = try copy.string("host")
            if let host, let problem = RemoteCommand.problem(with: host) {
                throw reader.error("host", "\(problem): give it as ssh takes it (user@host, or an alias)")
            }
            hosts.append(host)
        }
        return hosts
    }
}
