import Foundation
import TestSupport
import Testing
import WardenSupport

/// `parallel_hosts`: hosts paused and resumed several at once, through a remote pgwarden that is slow to pause and
/// says when each of its pauses began and ended.
extension FleetUpgradeTests {
    /// A remote pgwarden whose `workers set pause` takes `seconds` more, its start and end appended to `times`
    /// (`start SECONDS` / `end SECONDS`); a host whose state directory holds `refuse-pause` refuses at once.
    func slowProgram(_ hosts: SSHHosts, seconds: Int) throws -> (program: String, times: String) {
        let program = hosts.directory + "/pgwarden-slow"
        let times = hosts.directory + "/times"
        try """
        #!/bin/sh
        if [ "$1 $2 $3" = "workers set pause" ]; then
            [ -e /var/lib/pgwarden/refuse-pause ] && { echo 'error: this host refuses pauses today'; exit 1; }
            echo "start $(date +%s.%N)" >> \(times)
            sleep \(seconds)
            \(PGWardenCommand.executable.path) "$@"; status=$?
            echo "end $(date +%s.%N)" >> \(times)
            exit $status
        fi
        exec \(PGWardenCommand.executable.path) "$@"

        """.write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        return (program, times)
    }

    /// The pauses' starts and ends, as the slow program recorded them.
    func pauseTimes(_ file: String) throws -> (starts: [Double], ends: [Double]) {
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let values = { (word: String) in
            lines.filter { $0.hasPrefix(word + " ") }.compactMap { Double($0.dropFirst(word.count + 1)) }
        }
        return (values("start"), values("end"))
    }

    @Test("parallel_hosts = 3: the three hosts' pauses overlap, and the run takes less than twice one host's pause")
    func pausesOverlap() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let slow = try slowProgram(hosts, seconds: 3)
        try await ScratchDatabase.with { database in
            let started = ContinuousClock.now
            let run = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, program: slow.program, parallel: 3), hosts)
            )
            let elapsed = ContinuousClock.now - started
            #expect(run.status == 0, "\(run.standardError)")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1\n1\n1\n")
            #expect(try await allRestored(hosts))
            let times = try pauseTimes(slow.times)
            #expect(times.starts.count == 3 && times.ends.count == 3)
            // Every pause began before any ended: all three were in flight at once.
            #expect(times.starts.max()! < times.ends.min()!, "\(times)")
            let oneHost = times.ends.min()! - times.starts.min()!
            let allHosts = times.ends.max()! - times.starts.min()!
            print("parallel_hosts = 3: one host's pause \(oneHost)s, the three hosts' \(allHosts)s; run \(elapsed)")
            #expect(allHosts < 2 * oneHost, "\(times)")
        }
        try await hosts.stopAll()
    }

    @Test("parallel_hosts = 1: one host after another, as before the key")
    func oneAtATime() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let slow = try slowProgram(hosts, seconds: 1)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, program: slow.program, parallel: 1), hosts)
            )
            #expect(run.status == 0, "\(run.standardError)")
            let times = try pauseTimes(slow.times)
            #expect(times.starts.count == 3 && times.ends.count == 3)
            for index in 1..<3 { #expect(times.ends[index - 1] <= times.starts[index], "\(times)") }
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a host failing while the others' pauses are in flight: those pauses, done later, are resumed; nothing runs")
    func failureWhileInFlight() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let slow = try slowProgram(hosts, seconds: 3)
        // h2 refuses at once (after preflight), while h1's and h3's pauses are still under way.
        _ = FileManager.default.createFile(atPath: hosts.hosts[1].stateDirectory + "/refuse-pause", contents: nil)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, program: slow.program, parallel: 3), hosts)
            )
            #expect(run.status != 0)
            // Said as a local set's failure is: on the run's output and in its report, naming the set, host, why.
            #expect(
                run.standardOutput.contains("workers[2] (")
                    && run.standardOutput.contains(
                        "cannot be paused: on h2: this host refuses pauses today"
                    ),
                "\(run.standardOutput)"
            )
            #expect(
                !run.standardOutput.contains("on h1: this host") && !run.standardOutput.contains("on h3: this host")
            )
            #expect(!FileManager.default.fileExists(atPath: marker))
            // h1 and h3 were paused (their pauses ended after h2 failed), then resumed byte for byte.
            let times = try pauseTimes(slow.times)
            #expect(times.starts.count == 2 && times.ends.count == 2, "\(times)")
            #expect(
                run.standardOutput.contains("resume workers[1]") && run.standardOutput.contains("resume workers[3]")
            )
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("parallel_hosts out of its range: one error line naming it, nothing changed")
    func badParallelHosts() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        try await ScratchDatabase.with { database in
            let path = try config(hosts, parallel: 0)
            let run = try await PGWardenCommand.run(upgrade(database, path, hosts))
            #expect(run.status != 0)
            let lines = run.standardError.split(separator: "\n")
            #expect(lines.first?.hasPrefix("error:") == true && lines.first!.contains("parallel_hosts"), "\(lines)")
            #expect(lines.filter { $0.hasPrefix("error:") }.count == 1)
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }
}
