import Foundation

/// Errors of the test helpers.
package struct TestSupportError: Error, CustomStringConvertible {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}

/// Re-evaluates `condition` until it holds, or fails after `timeout`.
///
/// For readiness that the server only shows by its state (a session now waits in `pg_locks`);
/// each check is a real query, not a guess at how long something takes.
package func eventually(
    _ what: String,
    timeout: Duration = .seconds(45),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestSupportError("timed out after \(timeout) waiting until \(what)")
}
