#if canImport(Glibc)
    import Glibc
#endif

/// What the process's first thread does once Swift's concurrency runtime runs the command.
///
/// An async `main` ends the main thread through `dispatch_main`, that is `pthread_exit`: glibc then
/// loads libgcc_s and unwinds the thread through the binary's unwind tables at every start (about
/// 1 MB resident, BENCHMARKS.md "Footprint"), before libdispatch parks what is left of the thread in
/// `sigsuspend` with no signal blocked. ``park()`` puts the thread in that same state directly, so
/// that signals reach the process exactly as they did.
package enum MainThread {
    /// Unblocks every signal on the calling thread and waits for signals for ever: their handlers and
    /// default actions run here, as on the thread an async `main` leaves behind. The process ends by
    /// `exit` from another thread.
    package static func park() -> Never {
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        while true { sigsuspend(&none) }
    }
}
