import FoundationEssentials
import WardenSupport

/// Renders a ``LockSnapshot`` for people: each root blocker with the sessions
/// waiting on it nested below.
///
///     pid 456 · idle in transaction 29.9s · xact 30.2s · blocks 2 (1 directly) · app@appdb · psql
///        SELECT * FROM t
///     └─ pid 123 · waits 1.5s for AccessExclusiveLock on relation public.t · blocks 1 · app@appdb · alembic
///        │  ALTER TABLE t ADD COLUMN c int
///        └─ pid 789 · waits 1.2s for AccessShareLock on relation public.t · app@appdb · psql
///              SELECT * FROM t
///
/// A root blocker whose statement a progress view covers gets a `progress:` line below its query
/// (``BackendProgress/text``).
package struct LockForestRenderer: Sendable {
    /// Lines are cut to this many characters (a terminal's width); `nil` cuts only long queries.
    package var width: Int?

    /// Marks root blockers in bold red and waits in yellow, with ANSI escapes (for a terminal).
    package var colour = false

    /// ASCII only (`` `- ``, `|-`, `|`, `-`, `...`) instead of box-drawing characters, `·` and `…`:
    /// for a locale whose character set is not UTF-8.
    package var ascii = false

    /// Queries are shown up to this many characters.
    package static let queryLimit = 300

    /// Creates a renderer.
    package init(width: Int? = nil) {
        self.width = width.map { max($0, 40) }
    }

    /// The whole forest, or one line saying that nothing waits in `scope` (a database name, or "any database").
    package func render(_ snapshot: LockSnapshot, scope: String) -> String {
        guard !snapshot.isEmpty else {
            let hazards = snapshot.hazards?.lines { TerminalText.safe($0) } ?? []
            return (["No session is waiting on a lock in \(TerminalText.safe(scope))."] + hazards)
                .joined(separator: "\n")
        }
        let roots = snapshot.roots
        var lines = [headline(snapshot, scope: scope)]
        var drawn: Set<Int32> = []
        for root in roots {
            lines.append("")
            lines += node(root.pid, in: snapshot, prefix: "", connector: "", continuation: "", path: [], drawn: &drawn)
        }
        // Blockers that no root reaches wait on each other: a deadlock the server has not broken yet.
        for blocker in snapshot.blockers where !drawn.contains(blocker.pid) {
            lines.append("")
            lines.append("in a cycle (deadlock not yet detected):")
            lines += node(
                blocker.pid,
                in: snapshot,
                prefix: "",
                connector: "",
                continuation: "",
                path: [],
                drawn: &drawn
            )
        }
        // Every line quotes other people's text (queries, role, database, table and application
        // names): control characters are shown visibly before pgwarden adds its own colours.
        return lines.map { asciiOnly(paint(cut(TerminalText.safe($0)))) }.joined(separator: "\n")
    }

    /// The line with the tree, separators and ellipses in ASCII when ``ascii`` is set.
    private func asciiOnly(_ line: String) -> String {
        guard ascii else { return line }
        let replacements: [Character: String] = ["└": "`", "├": "|", "│": "|", "─": "-", "·": "-", "…": "..."]
        return line.reduce(into: "") { result, character in
            if let replacement = replacements[character] {
                result += replacement
            } else {
                result.append(character)
            }
        }
    }

    /// Root blocker lines in bold red; "waits …" in yellow.
    private func paint(_ line: String) -> String {
        guard colour else { return line }
        if line.hasPrefix("pid ") || line.hasPrefix("prepared transaction") {
            return "\u{1B}[1;31m" + line + "\u{1B}[0m"
        }
        return line.replacing(" · waits ", with: " · \u{1B}[33mwaits\u{1B}[0m ")
    }

    /// One line per snapshot, for `--watch` when the output is not a terminal.
    package func summaryLine(_ snapshot: LockSnapshot) -> String {
        let time = LockSnapshot.timestamp(snapshot.takenAt)
        guard !snapshot.isEmpty else {
            let hazards = snapshot.hazards?.lines { TerminalText.safe($0) } ?? []
            return (["\(time) no lock waits"] + hazards.map { "\(time) " + $0 }).joined(separator: "\n")
        }
        return TerminalText.safe(summaryText(snapshot, time: time))
    }

    private func summaryText(_ snapshot: LockSnapshot, time: String) -> String {
        let roots = snapshot.roots.map { root in
            let waiters = root.blocks.compactMap(snapshot.wait(of:)).map { wait in
                "\(wait.pid) waits \(DurationSyntax.format(seconds: wait.waitingSeconds)) for \(describe(wait.lock))"
            }
            let progress = root.progress.map { " (\($0.shortText))" } ?? ""
            return "root \(subject(root))\(progress) blocks \(root.blockedTotal) [\(waiters.joined(separator: ", "))]"
        }
        let cycle = cycleSummary(snapshot).map { [$0] } ?? []
        return asciiOnly("\(time) \(snapshot.waits.count) waiting; " + (roots + cycle).joined(separator: "; "))
    }

    /// `cycle (deadlock not yet detected): 101 waits 2.0s for ShareLock on transaction 7 held by 102, …`:
    /// the blockers no root reaches, which wait on each other.
    private func cycleSummary(_ snapshot: LockSnapshot) -> String? {
        var reached: Set<Int32> = []
        var frontier = snapshot.roots.map(\.pid)
        while let next = frontier.popLast() {
            guard reached.insert(next).inserted else { continue }
            frontier += snapshot.blocker(next)?.blocks ?? []
        }
        let members = snapshot.blockers.filter { !reached.contains($0.pid) }
        guard !members.isEmpty else { return nil }
        let waits = members.compactMap { snapshot.wait(of: $0.pid) }.map { wait in
            "\(wait.pid) waits \(DurationSyntax.format(seconds: wait.waitingSeconds)) for \(describe(wait.lock))"
                + " held by " + wait.blockedBy.map(String.init).joined(separator: ", ")
        }
        return "cycle (deadlock not yet detected) [\(waits.joined(separator: ", "))]"
    }

    private func headline(_ snapshot: LockSnapshot, scope: String) -> String {
        let waiting = snapshot.waits.count == 1 ? "1 session waits" : "\(snapshot.waits.count) sessions wait"
        let roots = snapshot.roots.count == 1 ? "1 root blocker" : "\(snapshot.roots.count) root blockers"
        let approximate = snapshot.waits.contains { !$0.exactWaitStart } ? " (wait times from state_change)" : ""
        return "\(waiting) on locks in \(scope); \(roots)\(approximate)."
    }

    private func node(
        _ pid: Int32,
        in snapshot: LockSnapshot,
        prefix: String,
        connector: String,
        continuation: String,
        path: Set<Int32>,
        drawn: inout Set<Int32>
    ) -> [String] {
        drawn.insert(pid)
        guard !path.contains(pid) else {
            return [prefix + connector + "pid \(pid) · (cycle: already shown above)"]
        }
        let children = snapshot.blocker(pid)?.blocks ?? []
        var lines = [prefix + connector + describeNode(pid, in: snapshot)]
        if let query = query(of: pid, in: snapshot) {
            lines.append(continuation + (children.isEmpty ? "   " : "│  ") + query)
        }
        if let progress = snapshot.blocker(pid)?.progress {
            lines.append(continuation + (children.isEmpty ? "   " : "│  ") + "progress: " + progress.text)
        }
        for (index, child) in children.enumerated() {
            let isLast = index == children.count - 1
            lines += self.node(
                child,
                in: snapshot,
                prefix: continuation,
                connector: isLast ? "└─ " : "├─ ",
                continuation: continuation + (isLast ? "   " : "│  "),
                path: path.union([pid]),
                drawn: &drawn
            )
        }
        return lines
    }

    private func describeNode(_ pid: Int32, in snapshot: LockSnapshot) -> String {
        var parts: [String] = []
        let wait = snapshot.wait(of: pid)
        let blocker = snapshot.blocker(pid)
        if let wait {
            parts.append("pid \(pid)")
            parts.append("waits \(DurationSyntax.format(seconds: wait.waitingSeconds)) for \(describe(wait.lock))")
        } else if let blocker {
            parts.append(subject(blocker))
        }
        if let blocker {
            let direct = blocker.blocks.count
            parts.append(
                blocker.blockedTotal == direct
                    ? "blocks \(direct)" : "blocks \(blocker.blockedTotal) (\(direct) directly)"
            )
        }
        if let wait, wait.blockedBy.count > 1 {
            parts.append("blocked by " + wait.blockedBy.map(String.init).joined(separator: ", "))
        }
        if let activity = wait?.activity ?? blocker?.activity {
            parts += identity(activity)
        }
        return parts.joined(separator: " · ")
    }

    /// `pid 456 · idle in transaction 29.9s · xact 30.2s`, or the prepared transaction.
    private func subject(_ blocker: Blocker) -> String {
        if blocker.pid == 0 {
            let gids = blocker.preparedGIDs.map { "'\($0)'" }.joined(separator: ", ")
            return "prepared transaction \(gids.isEmpty ? "(gid unknown)" : gids) (pid 0)"
        }
        guard let activity = blocker.activity else { return "pid \(blocker.pid) (session gone)" }
        var parts = ["pid \(blocker.pid)"]
        if let state = activity.state {
            parts.append(state + (activity.stateSeconds.map { " " + DurationSyntax.format(seconds: $0) } ?? ""))
        }
        if let xact = activity.xactSeconds {
            parts.append("xact " + DurationSyntax.format(seconds: xact))
        }
        return parts.joined(separator: " · ")
    }

    private func identity(_ activity: SessionActivity) -> [String] {
        var parts: [String] = []
        switch (activity.usename, activity.datname) {
        case let (user?, database?): parts.append("\(user)@\(database)")
        case let (user?, nil): parts.append(user)
        case let (nil, database?): parts.append("@\(database)")
        case (nil, nil): break
        }
        if let application = activity.applicationName, !application.isEmpty {
            parts.append(application)
        }
        if let backendType = activity.backendType, backendType != "client backend" {
            parts.append(backendType)
        }
        return parts
    }

    private func query(of pid: Int32, in snapshot: LockSnapshot) -> String? {
        let activity = snapshot.wait(of: pid)?.activity ?? snapshot.blocker(pid)?.activity
        guard let text = activity?.query, !text.isEmpty else { return nil }
        let oneLine = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return oneLine.count <= Self.queryLimit ? oneLine : String(oneLine.prefix(Self.queryLimit - 1)) + "…"
    }

    /// `line` in at most `width` columns as the terminal draws them (a wide character takes two), and
    /// as ``asciiOnly(_:)`` will leave it (its `…` becomes `...`).
    private func cut(_ line: String) -> String {
        guard let width, line.reduce(0, { $0 + drawnColumns(of: $1) }) > width else { return line }
        var kept = ""
        var used = drawnColumns(of: "…")
        for character in line {
            used += drawnColumns(of: character)
            if used > width { break }
            kept.append(character)
        }
        return kept + "…"
    }

    private func drawnColumns(of character: Character) -> Int {
        ascii && character == "…" ? 3 : DisplayWidth.columns(of: character)
    }
}

/// `AccessExclusiveLock on relation public.t`, `ShareLock on transaction 1234`, ….
package func describe(_ lock: LockTarget) -> String {
    let object: String
    switch lock.locktype {
    case "relation":
        object = "relation \(lock.relation ?? "?")"
    case "transactionid":
        object = "transaction \(lock.details["transactionid"] ?? "?")"
    case "virtualxid":
        object = "virtual transaction \(lock.details["virtualxid"] ?? "?")"
    case "tuple":
        object = "row (\(lock.details["page"] ?? "?"),\(lock.details["tuple"] ?? "?")) of \(lock.relation ?? "?")"
    case "advisory":
        object = "advisory lock \(advisoryKey(lock.details))"
    default:
        let tag = lock.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        object = ([lock.locktype] + (lock.relation.map { [$0] } ?? []) + tag).joined(separator: " ")
    }
    return "\(lock.mode) on \(object)"
}

/// An advisory lock's key as the application wrote it: one bigint (`objsubid` 1) or two integers (2).
private func advisoryKey(_ details: [String: String]) -> String {
    guard let classid = details["classid"].flatMap({ UInt64($0) }),
        let objid = details["objid"].flatMap({ UInt64($0) })
    else { return "?" }
    if details["objsubid"] == "2" {
        return "(\(Int32(bitPattern: UInt32(classid))), \(Int32(bitPattern: UInt32(objid))))"
    }
    return String(Int64(bitPattern: classid << 32 | objid))
}
