import FoundationEssentials
import Processes

#if canImport(Glibc)
    import Glibc
#endif

/// When a gunicorn worker serves. The master creates each worker's heartbeat file (`wgunicorn-*`, unlinked at once)
/// before it forks the worker; the worker touches it at every turn of its request loop, which it enters once it has
/// loaded the application, and the master kills a worker whose heartbeat stops (gunicorn's `--timeout`). A heartbeat
/// file changed after the worker started says the worker runs its loop: it accepts requests.
enum GunicornHeartbeat {
    /// Whether `worker`'s heartbeat file changed after the worker started (a clock tick of margin: the start time
    /// is counted in ticks, the file's change in nanoseconds).
    static func hasBeaten(_ worker: ProcessEntry) -> Bool {
        guard let changed = changeSinceBoot(of: worker.pid) else { return false }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return changed > Double(worker.startTime) / ticks + 2 / ticks
    }

    /// Whether this process may read `pid`'s descriptors (its workers run as the same user).
    static func canRead(_ pid: Int32) -> Bool {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) != nil
    }

    /// The last change of the worker's heartbeat file, in seconds since boot (the clock of `/proc`'s start times).
    static func changeSinceBoot(of pid: Int32) -> Double? {
        let directory = "/proc/\(pid)/fd"
        for descriptor in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + descriptor
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path),
                target.contains("/wgunicorn-")
            else { continue }
            var status = stat()
            guard stat(path, &status) == 0 else { return nil }
            let changed = Double(status.st_ctim.tv_sec) + Double(status.st_ctim.tv_nsec) / 1e9
            return changed - realtimeAheadOfBoot()
        }
        return nil
    }

    /// How far the wall clock is ahead of the time since boot, now.
    private static func realtimeAheadOfBoot() -> Double {
        var wall = timespec()
        var boot = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_BOOTTIME, &boot)
        return Double(wall.tv_sec - boot.tv_sec) + Double(wall.tv_nsec - boot.tv_nsec) / 1e9
    }
}
