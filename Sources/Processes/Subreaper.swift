import CEarlySignals

#if canImport(Glibc)
    import Glibc
#endif

/// pgwarden as the child subreaper of what it starts: a descendant that daemonises (double-forks,
/// `setsid … &`) becomes pgwarden's child instead of init's, so it is found, named and waited for (or
/// stopped) before a run ends.
package enum Subreaper {
    /// Makes this process the child subreaper of its descendants; returns whether the kernel agreed.
    @discardableResult
    package static func become() -> Bool {
        pgwarden_become_child_subreaper() == 0
    }

    /// This process's running descendants (its children, adopted ones included, and theirs).
    package static func descendants() -> [ProcessEntry] {
        let own = getpid()
        let snapshot = ProcFileSystem.snapshot()
        return snapshot.trees(rootedAt: [own]).subtracting([own]).compactMap { snapshot.entries[$0] }
            .filter { $0.identity.isRunning }.sorted { $0.pid < $1.pid }
    }

    /// Collects the exit status of `pid` if it is a child of this process that has ended, so that an
    /// adopted orphan does not stay a zombie.
    package static func reap(_ pid: Int32) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }
}
