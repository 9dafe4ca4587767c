import FoundationEssentials
import WaitGraph
import WardenSupport

/// Draws a ``LockViewModel`` as the lines of a full screen: pure, no I/O.
///
///     pgwarden locks · shop · 17:45:12Z · 41 waiting, 1 root · sort: wait
///       PID          USER@DB        APP     STATE/LOCK  WAIT  XACT QUERY
///     >     4242     postgres@shop  reader  idle in tx        1m02s SELECT count(*) F…
///       └─  4243     postgres@shop  alembic AccessExcl 58s   58s   ALTER TABLE t ADD…
///     …
package struct LockViewScreen: Sendable {
    /// Marks root blockers in red and the selection in reverse video, with ANSI escapes.
    package var colour: Bool

    /// Creates a screen renderer.
    package init(colour: Bool = false) {
        self.colour = colour
    }

    /// Exactly `model.size.rows` lines, none wider than `model.size.columns` characters (escapes aside).
    package func lines(_ model: LockViewModel) -> [String] {
        let width = max(20, model.size.columns)
        let columns = Columns(model.rows, width: width, ellipsis: model.ascii ? "~" : "…")
        var lines: [Line] = [header(model), Line(text: columns.names)]
        let bodyHeight = max(1, model.size.rows - ScreenLayout.headerHeight - ScreenLayout.footerHeight)
        let body = body(model, columns: columns)
        // The footer stays on the last lines, however short the tree.
        lines += body + Array(repeating: Line(text: ""), count: max(0, bodyHeight - body.count))
        lines += footer(model)
        let height = max(1, model.size.rows)
        return lines.prefix(height).map { plainOrPainted($0, width: width, model: model) }
            + Array(repeating: "", count: max(0, height - lines.count))
    }

    /// The whole frame for a terminal: cursor home, each line cleared to its end.
    package func frame(_ model: LockViewModel) -> String {
        "\u{1B}[H" + lines(model).map { $0 + "\u{1B}[K" }.joined(separator: "\r\n") + "\u{1B}[J"
    }

    /// A line and how to paint it.
    struct Line {
        enum Style { case plain, title, root, selected, rootSelected, question }
        var text: String
        var style: Style = .plain
    }

    private func plainOrPainted(_ line: Line, width: Int, model: LockViewModel) -> String {
        let text = ScreenText.cut(line.text, to: width, ellipsis: model.ascii ? "~" : "…")
        switch line.style {
        case .plain: return text
        case .title: return "\u{1B}[1m" + text + "\u{1B}[0m"
        case .root: return colour ? "\u{1B}[1;31m" + text + "\u{1B}[0m" : "\u{1B}[1m" + text + "\u{1B}[0m"
        case .selected: return "\u{1B}[7m" + pad(text, width) + "\u{1B}[0m"
        case .rootSelected: return "\u{1B}[1;7m" + pad(text, width) + "\u{1B}[0m"
        case .question: return "\u{1B}[1;7m" + text + "\u{1B}[0m"
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - DisplayWidth.columns(of: text)))
    }

    /// What matters most first, since a narrow screen cuts the end: counts and the scroll position, then
    /// sort, filter and the time of the snapshot.
    private func header(_ model: LockViewModel) -> Line {
        let dot = model.ascii ? " - " : " · "
        var parts = ["pgwarden locks"] + (model.paused ? ["PAUSED"] : []) + [ScreenText.clean(model.scope)]
        if let shown = model.shown {
            let roots = model.rows.filter(\.isRoot).count
            parts.append("\(shown.waits.count) waiting, " + Plural.count(roots, "root", "roots"))
        }
        let layout = model.layout
        if layout.lines.count > layout.scrollHeight, layout.scrollHeight > 0 {
            let last = min(layout.lines.count, model.scroll + layout.scrollHeight)
            parts.append("\(model.scroll + 1)-\(last)/\(layout.lines.count)")
        }
        parts.append("sort: " + model.sort.rawValue)
        if !model.filter.isEmpty { parts.append("filter: " + ScreenText.clean(model.filter)) }
        if let shown = model.shown { parts.append(String(Self.time(shown.takenAt).split(separator: " ").last ?? "")) }
        return Line(
            text: Self.fitted(parts, scope: model.paused ? 2 : 1, dot: dot, width: max(20, model.size.columns)),
            style: .title
        )
    }

    /// The header's parts joined to fit `width`: the sort goes first (the `s` key says it), then
    /// `pgwarden locks` becomes `locks`, then the scope (a long database name) is cut, so that the
    /// counts, the filter and the clock stay on screen.
    static func fitted(_ parts: [String], scope: Int, dot: String, width: Int) -> String {
        var parts = parts
        func overflow() -> Int { DisplayWidth.columns(of: parts.joined(separator: dot)) - width }
        if overflow() > 0, let sort = parts.firstIndex(where: { $0.hasPrefix("sort: ") }), sort > scope {
            parts.remove(at: sort)
        }
        if overflow() > 0 { parts[0] = "locks" }
        if overflow() > 0 {
            let keep = max(3, DisplayWidth.columns(of: parts[scope]) - overflow())
            parts[scope] = DisplayWidth.cut(parts[scope], columns: keep)
        }
        return parts.joined(separator: dot)
    }

    private func body(_ model: LockViewModel, columns: Columns) -> [Line] {
        let height = max(1, model.size.rows - ScreenLayout.headerHeight - ScreenLayout.footerHeight)
        guard let shown = model.shown else { return [Line(text: "waiting for the first poll…")] }
        guard !model.rows.isEmpty else {
            if shown.isEmpty { return emptyLines(model) }
            return [Line(text: "No session matches the filter '\(ScreenText.clean(model.filter))' (Esc clears it).")]
        }
        let layout = model.layout
        let selected = model.selectedRow
        let selectedIndex = layout.selectable.first { model.rows[$0] == selected }
        var lines = layout.pinned.map { row(model.rows[$0], columns: columns, selected: $0 == selectedIndex) }
        let visible = layout.lines.dropFirst(model.scroll).prefix(layout.scrollHeight)
        for line in visible {
            switch line {
            case .row(let index):
                lines.append(row(model.rows[index], columns: columns, selected: index == selectedIndex))
            case .heading(let pid):
                lines.append(Line(text: "  behind pid \(pid):"))
            }
        }
        return Array(lines.prefix(height))
    }

    private func emptyLines(_ model: LockViewModel) -> [Line] {
        var lines = [Line(text: "No session is waiting on a lock in \(ScreenText.clean(model.scope)).")]
        for hazard in model.shown?.hazards?.lines(visible: ScreenText.clean) ?? [] {
            lines.append(Line(text: hazard, style: .root))
        }
        if !model.elsewhere.isEmpty {
            lines.append(Line(text: WaitsElsewhere.sentence(model.elsewhere)))
            lines.append(Line(text: "Run pgwarden locks --watch --all-databases to see them."))
        }
        return lines
    }

    private func row(_ row: SessionRow, columns: Columns, selected: Bool) -> Line {
        let text = (selected ? ">" : " ") + " " + columns.format(row)
        let style: Line.Style =
            row.isRoot ? (selected ? .rootSelected : .root) : (selected ? .selected : .plain)
        return Line(text: text, style: style)
    }
}

extension WaitsElsewhere {
    /// `41 sessions wait on locks in other databases: shop (40), crm (1).`
    package static func sentence(_ counts: [WaitsElsewhere]) -> String {
        let total = counts.reduce(0) { $0 + $1.count }
        let list = counts.map { "\(ScreenText.clean($0.database)) (\($0.count))" }.joined(separator: ", ")
        return Plural.count(total, "session waits", "sessions wait") + " on locks in other databases: \(list)."
    }
}
