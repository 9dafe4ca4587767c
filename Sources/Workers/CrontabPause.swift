import FoundationEssentials

/// The pure crontab transform behind `pgwarden workers pause` and `resume`, on bytes.
///
/// Pausing comments out each job line whose command matches a pattern by putting
/// a marker that names the pause in front of it; every other byte stays as it was
/// (bytes that are not UTF-8, carriage returns, a missing final newline).
/// Resuming removes exactly those markers. Lines that someone else re-enabled or
/// removed in between are reported, never duplicated.
package enum CrontabPause {
    /// The comment put in front of each paused line: `#pgwarden:paused:<pause id> `.
    package static func marker(for pauseID: String) -> String {
        "#pgwarden:paused:\(pauseID) "
    }

    /// The prefix every pause's marker starts with.
    package static let markerPrefix = "#pgwarden:paused:"

    /// A job line that a pause commented out.
    package struct PausedLine: Sendable, Equatable, Codable {
        /// The line as it was, without its newline, byte for byte.
        package let bytes: [UInt8]
        /// Its 1-based line number in the crontab when it was paused.
        package let number: Int

        /// The line for people (bytes that are not UTF-8 shown as U+FFFD).
        package var line: String { String(decoding: bytes, as: UTF8.self) }

        /// Creates a paused line from its bytes.
        package init(bytes: some Sequence<UInt8>, number: Int) {
            self.bytes = Array(bytes)
            self.number = number
        }

        /// Creates a paused line from text.
        package init(line: String, number: Int) {
            self.init(bytes: line.utf8, number: number)
        }

        private enum CodingKeys: String, CodingKey {
            case line, number
            case bytes = "line_base64"
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            number = try container.decode(Int.self, forKey: .number)
            if let encoded = try container.decodeIfPresent(String.self, forKey: .bytes) {
                guard let data = Data(base64Encoded: encoded) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .bytes,
                        in: container,
                        debugDescription: "not base64"
                    )
                }
                bytes = Array(data)
            } else {
                bytes = Array(try container.decode(String.self, forKey: .line).utf8)
            }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(line, forKey: .line)
            try container.encode(number, forKey: .number)
            try container.encode(Data(bytes).base64EncodedString(), forKey: .bytes)
        }
    }

    /// What pausing a crontab gives.
    package struct Paused: Sendable, Equatable {
        /// The new crontab.
        package let text: [UInt8]
        /// The lines it commented, in order.
        package let lines: [PausedLine]
    }

    /// Comments out every job line whose command matches one of `patterns`.
    ///
    /// - Throws: ``WorkersError`` `patternMatchesNothing` naming each pattern that matches no job line.
    package static func pause(_ text: [UInt8], patterns: [WorkerPattern], pauseID: String) throws(WorkersError)
        -> Paused
    {
        var crontab = CrontabLines(text)
        let marker = Array(marker(for: pauseID).utf8)
        var paused: [PausedLine] = []
        var used = Set<String>()
        for index in crontab.lines.indices {
            guard let command = CrontabLine(bytes: crontab.lines[index]).command else { continue }
            var matching: [WorkerPattern] = []
            for pattern in patterns where try pattern.matches(command) { matching.append(pattern) }
            guard !matching.isEmpty else { continue }
            used.formUnion(matching.map(\.source))
            paused.append(PausedLine(bytes: crontab.lines[index], number: index + 1))
            crontab.lines[index] = (marker + crontab.lines[index])[...]
        }
        let unused = patterns.map(\.source).filter { !used.contains($0) }
        guard unused.isEmpty else {
            throw WorkersError(
                .patternMatchesNothing,
                "--match \(unused.map(quoted).joined(separator: ", ")) matches no job line of the crontab",
                hint: "pgwarden matches the command part of each job line, anywhere in it, as pgrep -f does"
            )
        }
        return Paused(text: crontab.bytes, lines: paused)
    }

    /// The pause ids whose markers `text` holds.
    package static func pauseIDs(in text: [UInt8]) -> Set<String> {
        let prefix = Array(markerPrefix.utf8)
        var ids = Set<String>()
        for line in CrontabLines(text).lines where line.starts(with: prefix) {
            let rest = line.dropFirst(prefix.count).prefix { $0 != UInt8(ascii: " ") }
            ids.insert(String(decoding: rest, as: UTF8.self))
        }
        return ids
    }

    /// What became of one paused line.
    package enum LineState: String, Sendable, Equatable, Codable {
        /// Still commented by this pause (before resume), or uncommented by resume.
        case paused
        /// Someone else made the line active again meanwhile (a configuration-management run?).
        case reEnabled = "re-enabled"
        /// Neither the commented line nor an active copy is in the crontab any more.
        case removed
    }

    /// One paused line and what became of it.
    package struct LineReport: Sendable, Equatable {
        package let line: PausedLine
        package let state: LineState
    }

    /// What resuming gives.
    package struct Resumed: Sendable, Equatable {
        /// The crontab with this pause's markers removed.
        package let text: [UInt8]
        /// Each paused line and what became of it: `paused` ones were restored.
        package let lines: [LineReport]
    }

    /// Where each of `paused` stands in the crontab `text`, without changing it.
    package static func status(_ text: [UInt8], pauseID: String, paused: [PausedLine]) -> [LineReport] {
        reconcile(CrontabLines(text), pauseID: pauseID, paused: paused).reports
    }

    /// Removes this pause's markers from `text`, restoring each paused line where it stands now.
    ///
    /// A marker line whose original someone re-enabled elsewhere is dropped instead of
    /// restored, so that no job runs twice; foreign edits are kept.
    package static func resume(_ text: [UInt8], pauseID: String, paused: [PausedLine]) -> Resumed {
        let (crontab, reports) = reconcile(CrontabLines(text), pauseID: pauseID, paused: paused)
        return Resumed(text: crontab.bytes, lines: reports)
    }

    private static func reconcile(
        _ crontab: CrontabLines,
        pauseID: String,
        paused: [PausedLine]
    ) -> (CrontabLines, reports: [LineReport]) {
        let marker = Array(marker(for: pauseID).utf8)
        // Active copies of paused lines: someone re-enabled (or re-added) them.
        var activeCopies: [ArraySlice<UInt8>: Int] = [:]
        for line in crontab.lines where !line.starts(with: marker) {
            activeCopies[line, default: 0] += 1
        }
        let pausedOriginals = Set(paused.map { $0.bytes[...] })
        var remaining = paused
        var reports: [LineReport] = []
        var result: [ArraySlice<UInt8>] = []
        for line in crontab.lines {
            guard line.starts(with: marker) else {
                result.append(line)
                continue
            }
            let original = line.dropFirst(marker.count)
            let journaled = remaining.firstIndex { $0.bytes[...] == original }.map { remaining.remove(at: $0) }
            let entry = journaled ?? PausedLine(bytes: original, number: result.count + 1)
            if pausedOriginals.contains(original), let copies = activeCopies[original], copies > 0 {
                activeCopies[original] = copies - 1
                reports.append(LineReport(line: entry, state: .reEnabled))
            } else {
                result.append(original)
                reports.append(LineReport(line: entry, state: .paused))
            }
        }
        for entry in remaining {
            let original = entry.bytes[...]
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
