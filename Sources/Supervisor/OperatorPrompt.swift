import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The operator's keys, read from standard input only while a question is open, and only as the
/// monitor takes them: ``takeKey()`` reads one key if one is there, never waiting, so the keys
/// after the one that answers the question (and whatever is typed with no question open) stay in
/// the terminal, for the shell once the run is over.
///
/// ``ask()`` discards what was typed before the question (the terminal's pending input) and, on
/// a terminal, reads single keys without echo, with bracketed paste on so that pasted text is
/// passed over rather than taken for keys; ``settle()`` gives the terminal back. Escape sequences
/// (arrow keys) are passed over whole, so that `ESC [ C` is not read as `c`. A run in the
/// background of its terminal reads nothing until it is brought to the foreground.
final class OperatorPrompt: Sendable {
    private struct State {
        /// Whether a question is open: keys are read only then.
        var asking = false
        /// The terminal's settings before the question, while they are changed.
        var saved: termios?
    }

    private let state = Mutex(State())
    private let isTerminal = isatty(STDIN_FILENO) == 1
    private let drawsOnTerminal = isatty(STDOUT_FILENO) == 1

    /// Bracketed paste on and off (xterm, tmux, and most terminals since).
    private static let pasteMarkersOn = "\u{1B}[?2004h"
    private static let pasteMarkersOff = "\u{1B}[?2004l"

    /// A question is about to be shown: forget every key typed so far, and read keys one by one.
    func ask() {
        state.withLock { state in
            state.asking = true
            enterKeyMode(&state)
        }
    }

    /// The question is over: no key is read any more, and the terminal reads lines again, as the
    /// operator's shell expects.
    func settle() {
        state.withLock { state in
            state.asking = false
            guard var original = state.saved else { return }
            tcsetattr(STDIN_FILENO, TCSANOW, &original)
            state.saved = nil
            if drawsOnTerminal { writeToTerminal(Self.pasteMarkersOff) }
        }
    }

    /// The next key pressed since ``ask()``, if one is there now; `nil` when none is (or no
    /// question is open). Never waits.
    func takeKey() -> Character? {
        state.withLock { state -> Character? in
            guard state.asking else { return nil }
            if isTerminal {
                guard Self.isForeground else { return nil }
                if state.saved == nil { enterKeyMode(&state) }  // asked while in the background
            }
            while let byte = Self.readByteIfReady() {
                guard byte == 0x1B else { return Character(Unicode.Scalar(byte)) }
                guard let next = Self.readByteIfReady() else { return "\u{1B}" }  // Escape on its own
                Self.passOverSequence(after: next)
            }
            return nil
        }
    }

    /// Keys one by one without echo, and what was typed before discarded; on a terminal only, and
    /// only from the foreground (a background run would be stopped by SIGTTOU, or its change would
    /// disturb the foreground's program).
    private func enterKeyMode(_ state: inout State) {
        guard isTerminal, Self.isForeground else { return }
        var current = termios()
        guard tcgetattr(STDIN_FILENO, &current) == 0 else { return }
        if state.saved == nil { state.saved = current }
        current.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &current.c_cc) { cc in
            // A read returns at once, with what is there: it never waits.
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &current)
        tcflush(STDIN_FILENO, TCIFLUSH)
        if drawsOnTerminal { writeToTerminal(Self.pasteMarkersOn) }
    }

    /// Passes over the rest of an escape sequence whose byte after ESC is `first` (CSI `[` or SS3
    /// `O`, then parameters up to a final byte), and over a whole bracketed paste.
    private static func passOverSequence(after first: UInt8) {
        guard first == UInt8(ascii: "[") || first == UInt8(ascii: "O") else { return }
        var sequence: [UInt8] = []
        while let byte = readByteIfReady() {
            sequence.append(byte)
            if (0x40...0x7E).contains(byte) { break }
        }
        guard sequence == Array("200~".utf8) else { return }
        // A paste: everything up to ESC [ 2 0 1 ~ is text, not keys.
        var tail: [UInt8] = []
        let end = Array("\u{1B}[201~".utf8)
        while let byte = readByteIfReady() {
            tail = Array((tail + [byte]).suffix(end.count))
            if tail == end { return }
        }
    }

    /// One byte of standard input if one can be read now; `nil` when none is there or input has ended.
    private static func readByteIfReady() -> UInt8? {
        var ready = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 0) > 0, ready.revents & Int16(POLLIN) != 0 else { return nil }
        var byte: UInt8 = 0
        return read(STDIN_FILENO, &byte, 1) == 1 ? byte : nil
    }

    /// Whether this process is in its terminal's foreground process group.
    private static var isForeground: Bool { tcgetpgrp(STDIN_FILENO) == getpgrp() }

    private func writeToTerminal(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(STDOUT_FILENO, &bytes, bytes.count)
    }

    deinit { settle() }
}
