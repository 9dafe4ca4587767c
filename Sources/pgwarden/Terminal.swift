import WardenSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's terminal: whether output goes to one, how wide it is, and where errors go.
enum Terminal {
    /// Whether standard output is a terminal.
    static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Whether to colour standard output: only on a terminal, and never when `NO_COLOR` is set.
    static var colourOnStandardOutput: Bool { standardOutputIsTerminal && !noColour }

    /// Whether to colour standard error: only on a terminal, and never when `NO_COLOR` is set.
    static var colourOnStandardError: Bool { isatty(STDERR_FILENO) == 1 && !noColour }

    /// `NO_COLOR` set to anything but the empty string (no-color.org), or a terminal that says it has no
    /// capabilities (`TERM=dumb`).
    private static var noColour: Bool { !(environment("NO_COLOR") ?? "").isEmpty || isDumb }

    /// `TERM=dumb`: a terminal that cannot move the cursor nor show colour (Emacs' shell, some CI logs).
    static var isDumb: Bool { environment("TERM") == "dumb" }

    /// Whether the locale's character set is UTF-8, so that box-drawing characters show. The locale is
    /// the first of `LC_ALL`, `LC_CTYPE`, `LANG` that is set and not empty; `C`, `POSIX` or another
    /// character set means ASCII. With none set, UTF-8 is assumed (what terminals use today).
    static var localeIsUTF8: Bool {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment($0) }.first { !$0.isEmpty }
        guard let locale else { return true }
        let charset = locale.lowercased().filter { $0 != "-" }
        return charset.contains(".utf8")
    }

    /// Whether standard input is a terminal.
    static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// The width of the terminal on standard output; `nil` when output is not a terminal.
    static var width: Int? {
        guard standardOutputIsTerminal else { return nil }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return Int(size.ws_col)
        }
        return environment("COLUMNS").flatMap(Int.init) ?? 80
    }

    /// An environment variable.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Clears the terminal and moves the cursor home, for a redraw.
    static let clearScreen = "\u{1B}[H\u{1B}[2J"

    /// Writes a line to standard output, unbuffered, so that a watcher sees each snapshot at once.
    /// Control characters in it are shown visibly (``TerminalText``): lines quote other people's text.
    static func printLine(_ line: String) {
        write(TerminalText.safe(line, layout: .multiLine) + "\n", to: STDOUT_FILENO)
    }

    /// Writes text that pgwarden made safe itself (a rendered forest with its own colours, a
    /// clear-screen sequence) as it is. Returns false when the reader has gone (EPIPE: `| head -1`
    /// closed the pipe), so that a watch can end as `yes | head -1` ends.
    @discardableResult
    static func printPrepared(_ text: String) -> Bool {
        write(text + "\n", to: STDOUT_FILENO)
    }

    /// Writes a line to standard error, as it is (labels carry pgwarden's own colours).
    static func printToStandardError(_ line: String) {
        write(line + "\n", to: STDERR_FILENO)
    }

    /// Writes JSON to standard output as it is: ``JSONValue`` escapes every control character itself, so the
    /// bytes go out without a copy (a forecast's can be hundreds of megabytes).
    /// Writes JSON text that ``JSONValue`` made (every control character escaped) to standard output as it is: a
    /// piece of a document written a piece at a time.
    static func printJSONText(_ bytes: [UInt8]) {
        write(bytes[...], to: STDOUT_FILENO)
    }

    static func printJSON(_ value: JSONValue, pretty: Bool) {
        var bytes = value.serializedBytes(pretty: pretty)
        bytes.append(0x0A)
        write(bytes[...], to: STDOUT_FILENO)
    }

    @discardableResult
    private static func write(_ text: String, to descriptor: Int32) -> Bool {
        write(Array(text.utf8)[...], to: descriptor)
    }

    /// Writes `bytes`; what cannot be written is dropped. False when the reader has gone (EPIPE;
    /// SIGPIPE is ignored, EarlySignals), true otherwise.
    @discardableResult
    private static func write(_ bytes: ArraySlice<UInt8>, to descriptor: Int32) -> Bool {
        var bytes = bytes
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return !(written < 0 && errno == EPIPE) }
            bytes = bytes.dropFirst(written)
        }
        return true
    }

    /// `error: …` and, when given, `hint: …` on standard error.
    static func printError(_ summary: String, hint: String? = nil) {
        printToStandardError(label("error:", colour: "31") + " " + visible(TerminalText.line(summary)))
        if let hint { printToStandardError(label("hint:", colour: "36") + " " + visible(TerminalText.line(hint))) }
    }

    /// `warning: …` and, when given, `hint: …` on standard error.
    static func printWarning(_ summary: String, hint: String? = nil) {
        printToStandardError(label("warning:", colour: "33") + " " + visible(TerminalText.line(summary)))
        if let hint { printToStandardError(label("hint:", colour: "36") + " " + visible(TerminalText.line(hint))) }
    }

    /// `text` redacted and with control characters shown visibly: a message quoting hostile input
    /// (a NUL byte in a policy file, an escape sequence, libpq quoting a connection string) stays
    /// one readable line without a secret.
    static func visible(_ text: String) -> String {
        TerminalText.safe(Redaction.redact(text))
    }

    /// A bold, coloured label on a terminal; plain text elsewhere.
    private static func label(_ text: String, colour: String) -> String {
        colourOnStandardError ? "\u{1B}[1;\(colour)m\(text)\u{1B}[0m" : text
    }
}

#if canImport(Glibc)
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    private let systemWrite = Darwin.write
#endif
