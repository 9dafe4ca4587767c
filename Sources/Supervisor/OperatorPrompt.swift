import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The operator's keys, read from standard input by one thread for the whole run, so that the
/// monitor never blocks on a keyboard. Only keys pressed after a question is shown count:
/// ``ask()`` discards what was typed before (the terminal's pending input too) and, on a
/// terminal, reads single keys without echo until ``settle()``.
final class OperatorPrompt: Sendable {
    private let keys = Mutex<[Character]>([])
    private let closed = Atomic<Bool>(false)
    private let saved = Mutex<termios?>(nil)
    private let isTerminal = isatty(STDIN_FILENO) == 1

    init() {
        Thread.detachNewThread { [self] in
            var byte: UInt8 = 0
            while true {
                let count = read(STDIN_FILENO, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                guard count == 1 else { break }
                self.keys.withLock { $0.append(Character(Unicode.Scalar(byte))) }
            }
            self.closed.store(true, ordering: .relaxed)
        }
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
        keys.withLock { $0.removeAll() }
    }

    /// The question is over: the terminal reads lines again, as the operator's shell expects.
    func settle() {
        saved.withLock { saved in
            guard var original = saved else { return }
            tcsetattr(STDIN_FILENO, TCSANOW, &original)
            saved = nil
        }
    }

    /// The oldest key pressed since ``ask()``, if any.
    func takeKey() -> Character? {
        keys.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    /// Whether standard input has ended (no more keys will come).
    var isClosed: Bool { closed.load(ordering: .relaxed) }

    deinit { settle() }
}
