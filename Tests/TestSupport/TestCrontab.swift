import Foundation
import Testing

/// The dedicated users whose crontabs the tests may change, created by `scripts/test`.
package enum TestCrontab {
    /// The test users (`PGWARDEN_TEST_CRONTAB_USERS`, comma-separated).
    package static let users = (ProcessInfo.processInfo.environment["PGWARDEN_TEST_CRONTAB_USERS"] ?? "")
        .split(separator: ",").map(String.init)

    /// True when the tests run as root with test users, so that `crontab -u` works on them.
    package static let isAvailable = getuid() == 0 && users.count >= 2

    /// Why crontab tests are skipped.
    package static let unavailableReason: Comment = "no crontab test users: run scripts/test as root"

    /// The user of the `workers` tests.
    package static var workersUser: String { users[0] }
    /// The user of the `upgrade` tests.
    package static var upgradeUser: String { users[1] }
    /// The user of suites that run `upgrade` outside the serialized upgrade suite (hostile numbers): a crontab of
    /// its own, so that a run there never meets one of the upgrade suite's; the upgrade user when only two are given.
    package static var bystanderUser: String { users.count > 2 ? users[2] : users[1] }
    /// The user of the several-host suites: they change only the hosts' own crontab spools and check that the real
    /// one stays as it was, so no other suite may touch this user's real crontab meanwhile (the workers user when
    /// fewer than four are given).
    package static var fleetUser: String { users.count > 3 ? users[3] : users[0] }

    /// The user's crontab, through the real `crontab` command; empty when there is none.
    package static func read(_ user: String) throws -> String {
        let result = try run("/usr/bin/crontab", ["-u", user, "-l"])
        if result.status != 0, result.error.hasPrefix("no crontab") { return "" }
        guard result.status == 0 else { throw TestSupportError("crontab -l failed: \(result.error)") }
        return result.output
    }

    /// Installs `text` as the user's crontab.
    package static func install(_ text: String, for user: String) throws {
        let result = try run("/usr/bin/crontab", ["-u", user, "-"], input: text)
        guard result.status == 0 else { throw TestSupportError("crontab - failed: \(result.error)") }
    }

    /// Removes the user's crontab.
    package static func remove(_ user: String) throws {
        _ = try run("/usr/bin/crontab", ["-u", user, "-r"])
    }

    /// Runs a program to completion on a thread of its own: for anything that takes a while.
    package static func runOffPool(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String, error: String) {
        try await onDedicatedThread { try run(executable, arguments, input: input, environment: environment) }
    }

    /// Runs a program to completion (for quick ones: it blocks the calling thread).
    package static func run(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:]
    ) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let error = Pipe()
        let standardInput = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = input == nil ? FileHandle.nullDevice : standardInput
        try process.run()
        if let input {
            standardInput.fileHandleForWriting.write(Data(input.utf8))
            try standardInput.fileHandleForWriting.close()
        }
        let errorData = OutputBuffer()
        let errorRead = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            errorData.append(error.fileHandleForReading.readDataToEndOfFile())
            errorRead.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        errorRead.wait()
        let err = Data(errorData.text.utf8)
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
