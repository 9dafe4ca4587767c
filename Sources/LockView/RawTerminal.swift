import Synchronization
import WardenSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The terminal while the lock view owns it: keys arrive one by one, unechoed, on the
/// alternate screen with the cursor hidden. ``restore()`` puts everything back, once,
/// whichever way the view ends.
///
/// Keys are read only while the view owns the terminal: ``restore()`` first stops the reader
/// (a read in progress finishes, none starts after), so what the operator types once the view
/// has ended, a whole line in canonical mode, reaches the shell rather than a process on its way out.
/// A read never waits (`VMIN` 0, after `poll` said input is there), so none can hold the stop up;
/// and nothing is drawn once the terminal is given back.
package final class RawTerminal: Sendable {
    private struct Saved: @unchecked Sendable {
        var settings: termios
    }

    private let saved: Saved
    /// Whether the terminal has been given back; held for the length of each write.
    private let restored = Mutex<Bool>(false)
    /// Set once the view no longer reads keys; held for the length of each read.
    private let keysStopped = Mutex<Bool>(false)
    /// Woken once by ``restore()``, ending a reader's wait for input.
    private let wake: WakePipe

    /// Enters the alternate screen, hides the cursor, turns off line editing and echo.
    /// Ctrl-C still raises SIGINT (the view turns it into a restore and an exit); Ctrl-Z is off,
    /// since a stopped view would leave the shell in raw mode.
    package init() throws(TerminalError) {
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { throw TerminalError("standard input is not a terminal") }
        saved = Saved(settings: settings)
        guard let wake = WakePipe() else { throw TerminalError("cannot make a pipe for the key reader") }
        self.wake = wake
        var raw = settings
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            // A read returns at once with what is there, so that it never holds up restore().
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
            cc[Int(VSUSP)] = 0
        }
        guard tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 else {
            throw TerminalError("cannot put the terminal in raw mode")
        }
        write(Self.enter)
    }

    /// Alternate screen on, cursor hidden, screen cleared.
    static let enter = "\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J"
    /// Attributes reset, cursor shown, alternate screen off.
    static let leave = "\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l"

    /// Gives the terminal back as it was: the shell's screen, its settings, the cursor. Safe to call again.
    package func restore() {
        restored.withLock { restored in
            guard !restored else { return }
            restored = true
            keysStopped.withLock { $0 = true }
            wake.wake()
            writeAll(Self.leave)
            var settings = saved.settings
            _ = tcsetattr(STDIN_FILENO, TCSANOW, &settings)
        }
    }

    /// The size of the terminal on standard output (80×24 when it cannot be read).
    package func size() -> ScreenSize {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else {
            return ScreenSize(rows: 24, columns: 80)
        }
        return ScreenSize(rows: Int(size.ws_row), columns: Int(size.ws_col))
    }

    /// Writes `text` to standard output in full (unless the terminal has gone, or has been given back).
    package func write(_ text: String) {
        restored.withLock { restored in
            guard !restored else { return }
            writeAll(text)
        }
    }

    private func writeAll(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { systemWrite(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Reads what the operator typed, at most `maximum` bytes: waits until at least one byte; empty at end of input
    /// (the terminal hung up); `nil` once ``restore()`` has stopped the view reading keys.
    func read(maximum: Int = 256) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            var waiting = [
                pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.readingEnd, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&waiting, 2, -1) < 0 {
                if errno == EINTR { continue }
                return []
            }
            let hungUp = waiting[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
            // With VMIN 0 this read returns at once, with what is there or nothing.
            let count: Int? = keysStopped.withLock { stopped in
                stopped ? nil : buffer.withUnsafeMutableBytes { systemRead(STDIN_FILENO, $0.baseAddress, $0.count) }
            }
            guard let count else { return nil }
            if count > 0 { return Array(buffer.prefix(count)) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if count < 0 || hungUp { return [] }
            // Nothing there after all (a Ctrl-C or another reader discarded it): wait again.
        }
    }
}

extension RawTerminal {
    /// Whether the operator's input has a byte waiting, or gets one within `timeout`.
    func hasInput(within timeout: Duration) -> Bool {
        var waiting = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return poll(&waiting, 1, milliseconds) > 0 && waiting.revents & Int16(POLLIN) != 0
    }
}

/// The terminal could not be set up for the view.
package struct TerminalError: Error, CustomStringConvertible {
    package let description: String

    init(_ description: String) {
        self.description = description
    }
}

#if canImport(Glibc)
    private let systemWrite = Glibc.write
    private let systemRead = Glibc.read
#elseif canImport(Darwin)
    private let systemWrite = Darwin.write
    private let systemRead = Darwin.read
#endif
