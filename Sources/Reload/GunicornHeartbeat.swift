import FoundationEssentials
import Processes

#if canImport(Glibc)
    import Glibc
#endif

/// When a gunicorn worker serves. The master creates each worker's heartbeat file (`wgunicorn-*`, mode 0600, unlinked
/// at once) before it forks the worker; the worker touches it at every turn of its request loop, which it enters once it
/// has loaded the application, and the master kills a worker whose heartbeat stops (gunicorn's `--timeout`). A touched
/// heartbeat file says the worker runs its loop: it accepts requests.
///
/// How a touch shows depends on gunicorn's version, and each way is read exactly:
/// - gunicorn 20 flips the file's mode between 1 and 0 (`fchmod` of a spinner), so any mode but the 0600 it was
///   created with is a beat;
/// - later versions set the file's times to `time.monotonic()` (`utime`), seconds since boot: a modification time
///   before the machine booted is a beat;
/// - any other way still changes the file's status-change time, and a change after the worker's start is a beat.
///   That start is known only to the clock tick, so a beat within the tick of the fork cannot be told this way; the
///   two exact ways above matter because a quick worker beats within that tick, and idle, beats again only half
///   gunicorn's `--timeout` later (15 s by default).
enum GunicornHeartbeat {
    /// What the heartbeat file's `stat` says, and when the worker started.
    struct Reading: Equatable {
        /// The file's permission bits.
        var mode: UInt32
        /// The file's modification time, in seconds since the epoch.
        var modified: Double
        /// The file's status-change time, in seconds since the epoch.
        var changed: Double
        /// The worker's start, in clock ticks since boot (`/proc/PID/stat`'s 22nd field).
        var startTicks: UInt64
        /// Clock ticks per second.
        var ticksPerSecond: Double
        /// When the machine booted, in seconds since the epoch.
        var bootedAt: Double

        /// Whether the worker has touched its heartbeat file since it started.
        var hasBeaten: Bool {
            if mode & 0o777 != 0o600 { return true }
            if modified < bootedAt { return true }
            return changed - bootedAt > Double(startTicks) / ticksPerSecond + 2 / ticksPerSecond
        }
    }

    /// Whether `worker` has touched its heartbeat file since it started.
    static func hasBeaten(_ worker: ProcessEntry) -> Bool {
        reading(of: worker)?.hasBeaten ?? false
    }

    /// Whether this process may read `pid`'s descriptors (its workers run as the same user).
    static func canRead(_ pid: Int32) -> Bool {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) != nil
    }

    /// The worker's heartbeat file as it is now, beside the worker's start; nil when it has none.
    static func reading(of worker: ProcessEntry) -> Reading? {
        let directory = "/proc/\(worker.pid)/fd"
        for descriptor in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + descriptor
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path),
                target.contains("/wgunicorn-")
            else { continue }
            var status = stat()
            guard stat(path, &status) == 0 else { return nil }
            return Reading(
                mode: UInt32(status.st_mode),
                modified: seconds(status.st_mtim),
                changed: seconds(status.st_ctim),
                startTicks: UInt64(worker.startTime),
                ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
                bootedAt: bootedAt()
            )
        }
        return nil
    }

    private static func seconds(_ time: timespec) -> Double {
        Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// When the machine booted, in seconds since the epoch, as the clocks say now.
    private static func bootedAt() -> Double {
        var wall = timespec()
        var boot = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_BOOTTIME, &boot)
        return seconds(wall) - seconds(boot)
    }
}
