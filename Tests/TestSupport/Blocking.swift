import Foundation

/// Runs blocking work (a child process, a socket read) on a thread of its own.
///
/// Swift's cooperative pool has one thread per core — two here — and a test that blocks one
/// of them in `waitUntilExit` or `recv` stalls every other test in the process.
package func onDedicatedThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Swift.Result { try body() })
        }
    }
}
