import Foundation

/// A real process with a recognisable command line, running as a given user, for `--stop` tests.
package struct FakeWorker: Sendable {
    /// How the fake worker behaves.
    package enum Behaviour: Sendable {
        /// Runs for a long time; dies on SIGTERM.
        case obedient
        /// Runs for a long time; ignores SIGTERM.
        case stubborn
        /// Finishes by itself after `seconds`.
        case finishing(seconds: Double)
    }

    /// The runuser process that started it (root's).
    package let launcher: Process
    /// A word only this worker's command line holds.
    package let tag: String

    /// Starts `python3 -c … TAG` as `user`.
    package static func start(_ tag: String, as user: String, behaviour: Behaviour) throws -> FakeWorker {
        // Cron starts a worker with no signal blocked; a process started from a test thread
        // (through runuser) inherits that thread's mask, so the fake worker clears it first.
        var body = "import signal, time; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
        switch behaviour {
        case .obedient: body += "time.sleep(600)"
        case .stubborn: body += "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
        case .finishing(let seconds): body += "time.sleep(\(seconds))"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = ["-u", user, "--", "/usr/bin/python3", "-c", body, tag]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return FakeWorker(launcher: process, tag: tag)
    }

    /// The worker's own pid, once it runs (found in `/proc` by its tag and user).
    package func pid(uid: UInt32) async throws -> Int32 {
        var found: Int32?
        try await eventually("the fake worker \(tag) runs") {
            found = FakeWorker.pids(withArgument: tag).first { FakeWorker.uid(of: $0) == uid }
            return found != nil
        }
        return found!
    }

    /// Stops the launcher and the worker if they still run, by pid.
    package func stop(uid: UInt32) {
        for pid in FakeWorker.pids(withArgument: tag) { kill(pid, SIGKILL) }
        if launcher.isRunning { launcher.terminate() }
        launcher.waitUntilExit()
    }

    /// Whether `pid` still runs (and is not a zombie).
    package static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    /// The Python processes (not their runuser parents) whose last argument is `argument`.
    package static func pids(withArgument argument: String) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard isRunning(pid), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                return false
            }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.first == "/usr/bin/python3" && arguments.last == argument
        }
    }

    /// The real uid of `pid`.
    package static func uid(of pid: Int32) -> UInt32? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
        else { return nil }
        return line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { UInt32($0) }
    }
}
