#if canImport(Glibc)
    import Glibc
#endif

/// Named points in a run where a fault-injection test can stop pgwarden dead.
///
/// When `PGWARDEN_FAILPOINT` names the point, pgwarden writes `failpoint NAME reached`
/// to standard error and waits there forever, so that a test can `kill -9` it at
/// exactly that step and check what a later `resume` or `recover` makes of it.
/// Unset, a fail point costs one environment lookup.
public enum FailPoint {
    /// Marks the point `name`.
    public static func hit(_ name: String) {
        guard let armed = getenv("PGWARDEN_FAILPOINT"), String(cString: armed) == name else { return }
        let line = "failpoint \(name) reached\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        while true { pause() }
    }
}
