#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pipe that a thread waiting in `poll(2)` watches, so that another thread can wake it for good:
/// ``wake()`` writes a byte, and the reading end stays readable. Both ends are close-on-exec (a
/// migration or `crontab` started meanwhile does not inherit them).
package final class WakePipe: Sendable {
    /// The end to watch for `POLLIN`.
    package let readingEnd: Int32
    private let writingEnd: Int32

    /// A new pipe, or `nil` when the process has no descriptor left for one.
    package init?() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        ends.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
        readingEnd = ends[0]
        writingEnd = ends[1]
    }

    /// Makes the reading end readable, waking a `poll` on it (now or the next one).
    package func wake() {
        var byte: UInt8 = 1
        _ = write(writingEnd, &byte, 1)
    }

    deinit {
        close(readingEnd)
        close(writingEnd)
    }
}
