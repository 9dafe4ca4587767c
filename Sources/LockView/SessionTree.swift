import WaitGraph

/// The order of root blockers and of the sessions under each blocker.
package enum SortOrder: String, Sendable, Equatable {
    /// Longest lock wait first (for a blocker: the longest wait in its tree).
    case wait
    /// Oldest transaction first.
    case transactionAge = "transaction age"

    /// The other order, for the key that toggles it.
    package var toggled: SortOrder { self == .wait ? .transactionAge : .wait }
}

/// One session on the screen: its place in the lock-wait tree and what the snapshot says of it.
package struct SessionRow: Sendable, Equatable {
    /// The backend; `0` for a prepared transaction.
    package var pid: Int32
    /// 0 for a root blocker (or the first blocker of a cycle), 1 for what waits on it, ….
    package var depth: Int
    /// The tree drawing before the pid (`├─ `, `│  └─ `, …); empty for a root.
    package var connector: String
    /// Which tree (root) it belongs to, in screen order.
    package var group: Int
    /// Its wait, when it waits.
    package var wait: LockWait?
    /// Its blocker entry, when it blocks someone.
    package var blocker: Blocker?
    /// True for the members of a cycle that no root reaches (a deadlock not yet detected).
    package var inCycle: Bool

    /// The session's activity, from its wait or its blocker entry.
    package var activity: SessionActivity? { wait?.activity ?? blocker?.activity }
    /// True for the top of a tree: kept on screen while the rest scrolls.
    package var isRoot: Bool { depth == 0 }
}

/// The snapshot as rows, in tree order, filtered and sorted.
package struct SessionTree: Sendable {
    /// Box-drawing characters, or their ASCII stand-ins.
    package var ascii: Bool

    /// Creates a tree builder.
    package init(ascii: Bool = false) {
        self.ascii = ascii
    }

    /// The rows of `snapshot`: each root with its tree, then the blockers of any cycle.
    /// With a `filter`, a session stays when its database, user or application contains it
    /// (ignoring case), or when something below it does.
    package func rows(_ snapshot: LockSnapshot, sort: SortOrder, filter: String = "") -> [SessionRow] {
        let needle = filter.lowercased()
        var result: [SessionRow] = []
        var drawn: Set<Int32> = []
        let roots = snapshot.roots.sorted { isBefore($0.pid, $1.pid, in: snapshot, sort: sort) }
        for root in roots {
            let rows = subtree(root.pid, in: snapshot, context: Context(sort: sort, needle: needle), drawn: &drawn)
            result += rows.map { relabel($0, group: groupCount(result)) }
        }
        for blocker in snapshot.blockers where !drawn.contains(blocker.pid) {
            var context = Context(sort: sort, needle: needle)
            context.inCycle = true
            let rows = subtree(blocker.pid, in: snapshot, context: context, drawn: &drawn)
            result += rows.map { relabel($0, group: groupCount(result)) }
        }
        return result
    }

    private struct Context {
        var sort: SortOrder
        var needle: String
        var inCycle = false
        var prefix = ""
        var connector = ""
        var path: Set<Int32> = []
        var depth = 0
        var isLast = true
    }

    private func groupCount(_ rows: [SessionRow]) -> Int {
        (rows.last?.group ?? -1) + 1
    }

    private func relabel(_ row: SessionRow, group: Int) -> SessionRow {
        var row = row
        row.group = group
        return row
    }

    /// `pid` and what waits on it, or nothing when the filter keeps none of it.
    private func subtree(
        _ pid: Int32,
        in snapshot: LockSnapshot,
        context: Context,
        drawn: inout Set<Int32>
    ) -> [SessionRow] {
        drawn.insert(pid)
        let row = SessionRow(
            pid: pid,
            depth: context.depth,
            connector: context.prefix + context.connector,
            group: 0,
            wait: snapshot.wait(of: pid),
            blocker: snapshot.blocker(pid),
            inCycle: context.inCycle
        )
        guard !context.path.contains(pid) else { return matches(row, context.needle) ? [row] : [] }
        let children = (snapshot.blocker(pid)?.blocks ?? []).sorted {
            isBefore($0, $1, in: snapshot, sort: context.sort)
        }
        var below: [SessionRow] = []
        for (index, child) in children.enumerated() {
            let isLast = index == children.count - 1
            var inner = context
            inner.depth += 1
            inner.path.insert(pid)
            inner.isLast = isLast
            inner.connector = isLast ? (ascii ? "`- " : "└─ ") : (ascii ? "|- " : "├─ ")
            inner.prefix =
                context.depth == 0 ? "" : context.prefix + (context.isLast ? "   " : (ascii ? "|  " : "│  "))
            below += subtree(child, in: snapshot, context: inner, drawn: &drawn)
        }
        guard matches(row, context.needle) || !below.isEmpty else { return [] }
        return [row] + below
    }

    private func matches(_ row: SessionRow, _ needle: String) -> Bool {
        guard !needle.isEmpty else { return true }
        guard let activity = row.activity else { return false }
        return [activity.datname, activity.usename, activity.applicationName].contains {
            $0?.lowercased().contains(needle) == true
        }
    }

    /// Whether `first` comes before `second` among siblings (or roots).
    private func isBefore(_ first: Int32, _ second: Int32, in snapshot: LockSnapshot, sort: SortOrder) -> Bool {
        let a = key(first, in: snapshot, sort: sort)
        let b = key(second, in: snapshot, sort: sort)
        return a != b ? a > b : first < second
    }

    private func key(_ pid: Int32, in snapshot: LockSnapshot, sort: SortOrder) -> Double {
        switch sort {
        case .wait:
            let own = snapshot.wait(of: pid)?.waitingSeconds ?? -1
            let behind = snapshot.waits(blockedBy: pid).map(\.waitingSeconds).max() ?? -1
            return max(own, behind)
        case .transactionAge:
            let activity = snapshot.wait(of: pid)?.activity ?? snapshot.blocker(pid)?.activity
            return activity?.xactSeconds ?? -1
        }
    }
}
