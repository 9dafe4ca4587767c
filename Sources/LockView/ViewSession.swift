import LockInspection
import Postgres
import WardenSupport

/// The lock view's session with the server: what polls, looks up who a session is, and signals.
package struct ViewSession: Sendable {
    package let inspector: LockInspector
    package let signaller: BackendSignaller

    /// A session of `inspector`'s connection; signals go through the same connection.
    package init(inspector: LockInspector, signaller: BackendSignaller) {
        self.inspector = inspector
        self.signaller = signaller
    }
}

/// The view's current session, replaced whole when its connection was lost and opened again.
actor ViewSessionHolder {
    private(set) var current: ViewSession

    init(_ session: ViewSession) {
        current = session
    }

    /// Puts `session` in the place of the current one, and finishes the old one's connection.
    func replace(with session: ViewSession) async {
        let old = current
        current = session
        await old.inspector.connection.close()
    }
}

/// Opens the view's session again after its connection was lost, with a backoff of 0.5 s doubling to
/// 5 s; each failure is reported through `failed`. Returns `nil` only when the task is cancelled.
struct ViewReconnection: Sendable {
    let open: @Sendable () async throws(PostgresError) -> ViewSession

    func reopen(failed: (PostgresError, Duration) -> Void) async -> ViewSession? {
        var backoff = Backoff(maximum: .seconds(5))
        while !Task.isCancelled {
            do {
                return try await open()
            } catch {
                let wait = backoff.next()
                failed(error, wait)
                try? await Task.sleep(for: wait)
            }
        }
        return nil
    }
}
