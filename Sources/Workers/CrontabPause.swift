/// The pure crontab transform behind `pgwarden workers pause` and `resume`.
///
/// Pausing comments out each job line whose command matches a pattern by putting
/// a marker that names the pause in front of it; every other byte stays as it was.
/// Resuming removes exactly those markers. Lines that someone else re-enabled or
/// removed in between are reported, never duplicated.
public enum CrontabPause {
    /// The comment put in front of each paused line: `#pgwarden:paused:<pause id> `.
    public static func marker(for pauseID: String) -> String {
        "#pgwarden:paused:\(pauseID) "
    }

    /// A job line that a pause commented out.
    public struct PausedLine: Sendable, Equatable, Codable {
        /// The line as it was, without its newline.
        public let line: String
        /// Its 1-based line number in the crontab when it was paused.
        public let number: Int

        /// Creates a paused line.
        public init(line: String, number: Int) {
            self.line = line
            self.number = number
        }
    }

    /// What pausing `text` gives.
    public struct Paused: Sendable, Equatable {
        /// The new crontab.
        public let text: String
        /// The lines it commented, in order.
        public let lines: [PausedLine]
    }

    /// Comments out every job line whose command matches one of `patterns`.
    ///
    /// - Throws: ``WorkersError`` `patternMatchesNothing` naming each pattern that matches no job line.
    public static func pause(_ text: String, patterns: [WorkerPattern], pauseID: String) throws(WorkersError) -> Paused
    {
        var crontab = CrontabLines(text)
        let marker = marker(for: pauseID)
        var paused: [PausedLine] = []
        var used = Set<String>()
        for index in crontab.lines.indices {
            guard let command = CrontabLine(crontab.lines[index]).command else { continue }
            var matching: [WorkerPattern] = []
            for pattern in patterns where try pattern.matches(command) { matching.append(pattern) }
            guard !matching.isEmpty else { continue }
            used.formUnion(matching.map(\.source))
            paused.append(PausedLine(line: String(crontab.lines[index]), number: index + 1))
            crontab.lines[index] = Substring(marker + crontab.lines[index])
        }
        let unused = patterns.map(\.source).filter { !used.contains($0) }
        guard unused.isEmpty else {
            throw WorkersError(
                .patternMatchesNothing,
                "--match \(unused.map(quoted).joined(separator: ", ")) matches no job line of the crontab",
                hint: "pgwarden matches the command part of each job line, anywhere in it, as pgrep -f does"
            )
        }
        return Paused(text: crontab.text, lines: paused)
    }

    /// What became of one paused line.
    public enum LineState: String, Sendable, Equatable, Codable {
        /// Still commented by this pause (before resume), or uncommented by resume.
        case paused
        /// Someone else made the line active again meanwhile (a configuration-management run?).
        case reEnabled = "re-enabled"
        /// Neither the commented line nor an active copy is in the crontab any more.
        case removed
    }

    /// One paused line and what became of it.
    public struct LineReport: Sendable, Equatable {
        public let line: PausedLine
        public let state: LineState
    }

    /// What resuming gives.
    public struct Resumed: Sendable, Equatable {
        /// The crontab with this pause's markers removed.
        public let text: String
        /// Each paused line and what became of it: `paused` ones were restored.
        public let lines: [LineReport]
    }

    /// Where each of `paused` stands in the crontab `text`, without changing it.
    public static func status(_ text: String, pauseID: String, paused: [PausedLine]) -> [LineReport] {
        reconcile(CrontabLines(text), pauseID: pauseID, paused: paused).reports
    }

    /// Removes this pause's markers from `text`, restoring each paused line where it stands now.
    ///
    /// A marker line whose original someone re-enabled elsewhere is dropped instead of
    /// restored, so that no job runs twice; foreign edits are kept.
    public static func resume(_ text: String, pauseID: String, paused: [PausedLine]) -> Resumed {
        let (crontab, reports) = reconcile(CrontabLines(text), pauseID: pauseID, paused: paused)
        return Resumed(text: crontab.text, lines: reports)
    }

    private static func reconcile(
        _ crontab: CrontabLines,
        pauseID: String,
        paused: [PausedLine]
    ) -> (CrontabLines, reports: [LineReport]) {
        let marker = marker(for: pauseID)
        // Active copies of paused lines: someone re-enabled (or re-added) them.
        var activeCopies: [Substring: Int] = [:]
        for line in crontab.lines where !line.hasPrefix(marker) {
            activeCopies[line, default: 0] += 1
        }
        let pausedOriginals = Set(paused.map(\.line))
        var remaining = paused
        var reports: [LineReport] = []
        var result: [Substring] = []
        for line in crontab.lines {
            guard line.hasPrefix(marker) else {
                result.append(line)
                continue
            }
            let original = line.dropFirst(marker.count)
            let journaled = remaining.firstIndex { $0.line == original }.map { remaining.remove(at: $0) }
            let entry = journaled ?? PausedLine(line: String(original), number: result.count + 1)
            if pausedOriginals.contains(String(original)), let copies = activeCopies[original], copies > 0 {
                activeCopies[original] = copies - 1
                reports.append(LineReport(line: entry, state: .reEnabled))
            } else {
                result.append(original)
                reports.append(LineReport(line: entry, state: .paused))
            }
        }
        for entry in remaining {
            let original = Substring(entry.line)
            if let copies = activeCopies[original], copies > 0 {
                activeCopies[original] = copies - 1
                reports.append(LineReport(line: entry, state: .reEnabled))
            } else {
                reports.append(LineReport(line: entry, state: .removed))
            }
        }
        return (CrontabLines(lines: result), reports.sorted { $0.line.number < $1.line.number })
    }
}
