#if canImport(Glibc)
    import Glibc
#endif

/// Named points in a run where a fault-injection test can stop pgwarden.
///
/// When `PGWARDEN_FAILPOINT` names the point, pgwarden writes `failpoint NAME reached`
/// to standard error and waits there, so that a test can act at exactly that step:
/// `kill -9` it and check what a later `resume` or `recover` makes of it, or send it a
/// signal. Without `PGWARDEN_FAILPOINT_RELEASE` it waits forever; with it, until the file
/// that variable names exists, and then goes on.
/// Unset, a fail point costs one environment lookup.
package enum FailPoint {
    /// Marks the point `name`.
    package static func hit(_ name: String) {
        guard let armed = getenv("PGWARDEN_FAILPOINT"), String(cString: armed) == name else { return }
        let line = "failpoint \(name) reached\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        guard let release = getenv("PGWARDEN_FAILPOINT_RELEASE") else {
            while true { pause() }
        }
        while access(release, F_OK) != 0 { usleep(10_000) }
    }
}
