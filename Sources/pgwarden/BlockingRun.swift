import Dispatch

/// Runs async work from a synchronous `main`: the work on the global concurrent executor, the
/// calling thread waiting until it ends.
///
/// Nothing in pgwarden runs on the main actor, so the waiting main thread holds up nothing.
enum BlockingRun {
    /// Runs `body` as a detached task and returns the error it threw, or nil; the caller waits.
    static func run(_ body: sending @escaping () async throws -> Void) -> (any Error)? {
        let outcome = Outcome()
        Task.detached {
            do {
                try await body()
            } catch {
                outcome.failure = error
            }
            outcome.finished.signal()
        }
        outcome.finished.wait()
        return outcome.failure
    }

    /// The task's error, written before `finished` is signalled and read after the wait: the
    /// semaphore orders the two accesses.
    private final class Outcome: @unchecked Sendable {
        let finished = DispatchSemaphore(value: 0)
        var failure: (any Error)?
    }
}
