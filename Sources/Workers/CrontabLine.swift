/// What one line of a user's crontab is, as cron reads it.
package enum CrontabLine: Equatable, Sendable {
    /// A job: its schedule and the command cron runs (decoded as UTF-8 for matching and display;
    /// bytes that are not UTF-8 read as U+FFFD here, and are never written back from this).
    case job(schedule: String, command: String)
    /// Anything else: blank, comment, or environment assignment (`MAILTO=…`).
    case other

    /// Classifies `line` (without its newline).
    package init(_ line: some StringProtocol) {
        self.init(bytes: Array(line.utf8))
    }

    /// Classifies the line `bytes` (without its newline).
    ///
    /// A job line starts with `@keyword` (`@reboot`, `@daily`, …) or with a minute field
    /// (a digit or `*`), followed by four more fields and the command. Environment
    /// lines start with a name, comments with `#`.
    package init(bytes line: some Collection<UInt8>) {
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let body = line.drop(while: blank)
        guard let first = body.first else {
            self = .other
            return
        }
        let fieldCount: Int
        if first == UInt8(ascii: "@") {
            fieldCount = 1
        } else if first == UInt8(ascii: "*") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
            fieldCount = 5
        } else {
            self = .other
            return
        }
        var rest = body
        for _ in 0..<fieldCount {
            rest = rest.drop(while: { !blank($0) })
            rest = rest.drop(while: blank)
        }
        guard !rest.isEmpty else {
            self = .other
            return
        }
        self = .job(
            schedule: String(decoding: body[..<rest.startIndex], as: UTF8.self),
            command: String(decoding: rest, as: UTF8.self)
        )
    }

    /// The command, when this is a job.
    package var command: String? {
        if case .job(_, let command) = self { return command }
        return nil
    }
}

/// A crontab's bytes as lines, so that joining them gives back every byte,
/// the final newline (or its absence), carriage returns and bytes that are not UTF-8 included.
struct CrontabLines {
    var lines: [ArraySlice<UInt8>]

    init(_ bytes: [UInt8]) {
        lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    }

    init(lines: [ArraySlice<UInt8>]) {
        self.lines = lines
    }

    var bytes: [UInt8] { Array(lines.joined(separator: [UInt8(ascii: "\n")])) }
}
