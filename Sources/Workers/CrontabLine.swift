/// What one line of a user's crontab is, as cron reads it.
public enum CrontabLine: Equatable, Sendable {
    /// A job: its schedule and the command cron runs.
    case job(schedule: Substring, command: Substring)
    /// Anything else: blank, comment, or environment assignment (`MAILTO=…`).
    case other

    /// Classifies `line` (without its newline).
    ///
    /// A job line starts with `@keyword` (`@reboot`, `@daily`, …) or with a minute field
    /// (a digit or `*`), followed by four more fields and the command. Environment
    /// lines start with a name, comments with `#`.
    public init(_ line: Substring) {
        let body = line.drop(while: { $0 == " " || $0 == "\t" })
        guard let first = body.first else {
            self = .other
            return
        }
        let fieldCount: Int
        if first == "@" {
            fieldCount = 1
        } else if first == "*" || first.isASCII && first.isNumber {
            fieldCount = 5
        } else {
            self = .other
            return
        }
        var rest = body
        for _ in 0..<fieldCount {
            rest = rest.drop(while: { $0 != " " && $0 != "\t" })
            rest = rest.drop(while: { $0 == " " || $0 == "\t" })
        }
        guard !rest.isEmpty else {
            self = .other
            return
        }
        self = .job(schedule: body[..<rest.startIndex], command: rest)
    }

    /// The command, when this is a job.
    public var command: Substring? {
        if case .job(_, let command) = self { return command }
        return nil
    }
}

/// A crontab's text as lines, so that joining them gives back every byte,
/// the final newline (or its absence) included.
struct CrontabLines {
    var lines: [Substring]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    init(lines: [Substring]) {
        self.lines = lines
    }

    var text: String { lines.joined(separator: "\n") }
}
