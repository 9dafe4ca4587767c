/// Where each row goes on the screen: the pinned root blockers, and the lines that scroll.
struct ScreenLayout: Equatable {
    /// A line of the scrolling part.
    enum Line: Equatable {
        /// The row at this index of the model's rows.
        case row(Int)
        /// `behind pid N:` before the sessions of a root that is pinned above, when there are several trees.
        case heading(Int32)
    }

    /// Lines above the tree: the title and the column names.
    static let headerHeight = 2
    /// Lines below it: the selected session's lock and query, and the keys (or a question).
    static let footerHeight = 3

    /// Indices of the rows kept on screen: the root blockers (at most half the tree's space).
    var pinned: [Int]
    /// The rest, in tree order.
    var lines: [Line]
    /// How many lines the scrolling part shows.
    var scrollHeight: Int

    init(rows: [SessionRow], size: ScreenSize) {
        let body = max(1, size.rows - Self.headerHeight - Self.footerHeight)
        let roots = rows.indices.filter { rows[$0].isRoot }
        pinned = Array(roots.prefix(max(1, body / 2)))
        scrollHeight = max(0, body - pinned.count)
        let pinnedSet = Set(pinned)
        let groups = Set(rows.map(\.group)).count
        var lines: [Line] = []
        for index in rows.indices where !pinnedSet.contains(index) {
            // The first session under a pinned root, when there are several trees: say whose tree it is.
            if groups > 1, index > 0, pinnedSet.contains(index - 1) {
                lines.append(.heading(rows[index - 1].pid))
            }
            lines.append(.row(index))
        }
        self.lines = lines
    }

    /// Every selectable row index, in screen order: pinned first, then the scrolling ones.
    var selectable: [Int] {
        pinned + lines.compactMap { if case .row(let index) = $0 { index } else { nil } }
    }

    /// The scroll offset that shows the row at `index`, starting from `scroll`.
    func scroll(toShow index: Int?, from scroll: Int) -> Int {
        let limit = max(0, lines.count - scrollHeight)
        var scroll = min(max(0, scroll), limit)
        guard let index, let position = lines.firstIndex(of: .row(index)) else { return scroll }
        if position < scroll {
            scroll = isHeading(position - 1) ? position - 1 : position
        } else if position >= scroll + scrollHeight {
            scroll = position - scrollHeight + 1
        }
        return min(max(0, scroll), limit)
    }

    private func isHeading(_ position: Int) -> Bool {
        guard lines.indices.contains(position), case .heading = lines[position] else { return false }
        return true
    }
}
