import CEarlySignals

#if canImport(Glibc)
    import Glibc
#endif

/// Signal dispositions set as the very first thing the process does: by an ELF constructor
/// (CEarlySignals), before the Swift runtime, Foundation or `main` run, SIGPIPE is ignored (a
/// write to a vanished reader fails with EPIPE, and is dropped) and SIGHUP is held: recorded by a
/// handler instead of ending the process. A ``SignalMonitor`` created later is handed those that
/// arrived meanwhile, and the handler comes back when it is cancelled.
package enum EarlySignals {
    /// Ignores SIGPIPE and holds `signals` (again: the constructor did it for SIGHUP already).
    package static func install(holding signals: [Int32] = [SIGHUP]) {
        signal(SIGPIPE, SIG_IGN)
        signals.forEach(pgwarden_hold_signal)
    }

    /// Takes the held signals among `signals` that arrived.
    package static func take(_ signals: [Int32]) -> [Int32] {
        let mask = signals.reduce(UInt(0)) { $0 | UInt(1) << UInt($1 & 63) }
        let taken = pgwarden_take_early_signals(mask)
        return signals.filter { taken & (UInt(1) << UInt($0 & 63)) != 0 }
    }
}
