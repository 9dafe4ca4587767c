import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Turns Unix signals into calls of a handler, outside signal context.
///
/// While the monitor lives, the signals' default actions are replaced (a SIGHUP no longer
/// ends the process); ``cancel()`` restores them.
public final class SignalMonitor: Sendable {
    private let signals: [Int32]
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    /// Starts delivering `signals` to `handler`, on a queue of the monitor's own.
    public init(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        let queue = DispatchQueue(label: "pgwarden.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    /// Stops delivering, and gives the signals their default actions back.
    public func cancel() {
        sources.forEach { $0.cancel() }
        signals.forEach { signal($0, SIG_DFL) }
    }
}
