#if canImport(Glibc)
    import Glibc
#endif

/// A thread of its own for blocking work (reading a terminal, accepting connections), which must
/// not hold one of the cooperative pool's few threads. POSIX threads directly: Foundation's
/// `Thread` is not in FoundationEssentials.
package enum DetachedThread {
    /// Runs `body` on a new detached thread.
    package static func start(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread,
            nil,
            { context in
                Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            },
            context
        )
        precondition(status == 0, "pthread_create failed: \(String(cString: strerror(status)))")
        pthread_detach(thread)
    }
}

/// What a new thread runs, handed over as its one pointer argument.
private final class ThreadBody {
    let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}
