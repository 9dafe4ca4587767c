import Foundation
import Synchronization
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The operator's keys, read from standard input by one thread for the whole run, so that the
/// monitor never blocks on a keyboard — and read only while a question is open: ``ask()``
/// discards what was typed before (the terminal's pending input too) and, on a terminal, reads
/// single keys without echo until ``settle()``. What the operator types with no question open
/// stays in the terminal, for the shell once the run is over.
final class OperatorPrompt: Sendable {
    private struct Reading {
        /// Whether a question is open: keys are read only then.
        var asking = false
        var keys: [Character] = []
    }

    /// Held for the length of each read, so that once ``settle()`` has it, no read is under way.
    private let reading = Mutex(Reading())
    private let saved = Mutex<termios?>(nil)
    private let isTerminal = isatty(STDIN_FILENO) == 1
    /// Woken by ``ask()`` and ``settle()``: the reader then looks again at whether to wait for keys.
    private let wake = WakePipe()

    init() {
        Thread.detachNewThread { [self] in readKeys() }
    }

    /// A question is about to be shown: forget every key typed so far, and read keys one by one.
    func ask() {
        if isTerminal {
            saved.withLock { saved in
                var current = termios()
                guard tcgetattr(STDIN_FILENO, &current) == 0 else { return }
                if saved == nil { saved = current }
                current.c_lflag &= ~tcflag_t(ICANON | ECHO)
                withUnsafeMutableBytes(of: &current.c_cc) { cc in
                    cc[Int(VMIN)] = 1
                    cc[Int(VTIME)] = 0
                }
                tcsetattr(STDIN_FILENO, TCSANOW, &current)
            }
            tcflush(STDIN_FILENO, TCIFLUSH)
        }
        reading.withLock {
            $0.keys.removeAll()
            $0.asking = true
        }
        wake?.wake()
    }

    /// The question is over: no key is read any more, and the terminal reads lines again, as the
    /// operator's shell expects.
    func settle() {
        reading.withLock { $0.asking = false }
        wake?.wake()
        saved.withLock { saved in
            guard var original = saved else { return }
            tcsetattr(STDIN_FILENO, TCSANOW, &original)
            saved = nil
        }
    }

    /// The oldest key pressed since ``ask()``, if any.
    func takeKey() -> Character? {
        reading.withLock { $0.keys.isEmpty ? nil : $0.keys.removeFirst() }
    }

    /// The reader thread: waits to be woken, and for a key while a question is open; ends at end of input.
    private func readKeys() {
        var byte: UInt8 = 0
        while true {
            wake?.drain()
            let asking = reading.withLock { $0.asking }
            var waiting = [pollfd(fd: wake?.readingEnd ?? -1, events: Int16(POLLIN), revents: 0)]
            if asking { waiting.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            // Without a wake pipe, the state is looked at again every 100 ms.
            let ready = poll(&waiting, nfds_t(waiting.count), wake == nil ? 100 : -1)
            if ready < 0 && errno != EINTR { return }
            guard asking, ready > 0, waiting[1].revents != 0 else { continue }
            let ended: Bool = reading.withLock { reading in
                guard reading.asking else { return false }
                let count = read(STDIN_FILENO, &byte, 1)
                if count == 1 { reading.keys.append(Character(Unicode.Scalar(byte))) }
                return count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN)
            }
            if ended { return }
        }
    }

    deinit { settle() }
}
