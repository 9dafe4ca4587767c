import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Turns Unix signals into calls of a handler, outside signal context.
///
/// While the monitor lives, the signals' default actions are replaced (a SIGHUP no longer
/// ends the process); signals that ``EarlySignals`` held before the monitor existed are handed
/// to the handler at once. ``cancel()`` puts back the dispositions that were there before.
package final class SignalMonitor: Sendable {
    private let signals: [Int32]
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]
    private let previous: [sighandler_t?]

    /// Starts delivering `signals` to `handler`, on a queue of the monitor's own.
    package init(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        let queue = DispatchQueue(label: "pgwarden.signals")
        // Until the dispatch sources are registered (asynchronously), a signal is recorded, never
        // dropped nor acted on by default: what was recorded is handed over now and again shortly after.
        previous = signals.map { number in
            // The disposition before, read without changing it: a signal that came while it was changed
            // for a moment (to SIG_IGN, say) and before the hold would be lost, and a hang-up with it.
            var before = sigaction()
            _ = sigaction(number, nil, &before)
            EarlySignals.install(holding: [number])
            return before.__sigaction_handler.sa_handler
        }
        sources = signals.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
        let signals = signals
        for delay in [0, 50, 500] {
            queue.asyncAfter(deadline: .now() + .milliseconds(delay)) {
                for number in EarlySignals.take(signals) { handler(number) }
            }
        }
    }

    /// Stops delivering, and gives the signals back the dispositions they had before the monitor.
    package func cancel() {
        for (number, disposition) in zip(signals, previous) {
            signal(number, disposition ?? SIG_DFL)
        }
        sources.forEach { $0.cancel() }
    }
}
