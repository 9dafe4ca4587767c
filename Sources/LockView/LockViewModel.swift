import FoundationEssentials
import WaitGraph

/// The state of the full-screen lock view, and how it answers events: pure, no I/O.
///
/// The effects layer feeds it events (keys, resizes, snapshots, the clock, answers from the
/// server) and carries out the actions it returns (redraw, look a session up, signal, quit).
package struct LockViewModel: Sendable {
    /// A signal on its way: first the session is looked up, then the operator confirms, then it is sent.
    package enum Pending: Sendable, Equatable {
        case lookingUp(pid: Int32, SignalKind)
        case confirming(ShownSession, SignalKind)
        case sending(ShownSession, SignalKind)

        /// The session the signal is for.
        package var pid: Int32 {
            switch self {
            case .lookingUp(let pid, _): pid
            case .confirming(let identity, _), .sending(let identity, _): identity.pid
            }
        }
    }

    /// What the view watches: a database name, or "any database".
    package let scope: String
    /// ASCII instead of box-drawing characters (a terminal whose locale is not UTF-8).
    package let ascii: Bool
    package private(set) var size: ScreenSize
    /// The snapshot on screen (while paused, newer ones wait in ``latest``).
    package private(set) var shown: LockSnapshot?
    package private(set) var latest: LockSnapshot?
    package private(set) var elsewhere: [WaitsElsewhere] = []
    private var latestElsewhere: [WaitsElsewhere] = []
    package private(set) var sort: SortOrder = .wait
    /// Keeps the sessions whose database, user or application contains it.
    package private(set) var filter = ""
    /// The filter being typed after `/`; `nil` when not typing.
    package private(set) var editingFilter: String?
    package private(set) var paused = false
    package private(set) var pending: Pending?
    /// A line for the operator (what a signal did, why a key did nothing), until ``messageUntil``.
    package private(set) var message: String?
    private var messageUntil: Date?
    package private(set) var pollError: String?
    package private(set) var now: Date
    /// The rows of ``shown``, sorted and filtered.
    package private(set) var rows: [SessionRow] = []
    package private(set) var selectedPID: Int32?
    private var selectedPosition = 0
    /// The first line of the scrolling part on screen.
    package private(set) var scroll = 0

    /// How long a message stays.
    static let messageLifetime: TimeInterval = 8

    /// Creates the view's state before the first snapshot.
    package init(scope: String, size: ScreenSize, now: Date, ascii: Bool = false) {
        self.scope = scope
        self.size = size
        self.now = now
        self.ascii = ascii
    }

    /// Where the rows go on the screen.
    var layout: ScreenLayout { ScreenLayout(rows: rows, size: size) }

    /// The selected session's row.
    package var selectedRow: SessionRow? {
        let selectable = layout.selectable
        guard !selectable.isEmpty else { return nil }
        return rows[selectable[min(selectedPosition, selectable.count - 1)]]
    }

    /// Answers `event`: the new state, and what the effects layer is to do.
    package mutating func update(_ event: LockViewEvent) -> [LockViewAction] {
        switch event {
        case .key(let key):
            return press(key)
        case .resize(let size):
            self.size = size
            refresh()
            return [.redraw]
        case .snapshot(let snapshot, let elsewhere):
            latest = snapshot
            latestElsewhere = elsewhere
            pollError = nil
            guard !paused else { return [.redraw] }
            show(snapshot, elsewhere: elsewhere)
            return [.redraw]
        case .pollFailed(let reason):
            pollError = reason
            return [.redraw]
        case .tick(let date):
            now = date
            if let until = messageUntil, date >= until {
                message = nil
                messageUntil = nil
            }
            return [.redraw]
        case .identity(let pid, let identity):
            guard case .lookingUp(pid, let kind) = pending else { return [] }
            guard let identity else {
                pending = nil
                say("pid \(pid) has gone: nothing sent")
                return [.redraw]
            }
            pending = .confirming(identity, kind)
            return [.redraw]
        case .signalFinished(let pid, _, let report):
            if pending?.pid == pid { pending = nil }
            say(report)
            return [.redraw]
        }
    }

    private mutating func press(_ key: Key) -> [LockViewAction] {
        if editingFilter != nil { return editFilter(key) }
        if let pending { return answer(key, pending) }
        switch key {
        case .character("q"), .character("Q"): return [.quit]
        case .up, .character("k"): move(by: -1)
        case .down, .character("j"): move(by: 1)
        case .pageUp: move(by: -max(1, layout.scrollHeight))
        case .pageDown: move(by: max(1, layout.scrollHeight))
        case .home, .character("g"): move(by: -rows.count)
        case .end, .character("G"): move(by: rows.count)
        case .character(" "):
            paused.toggle()
            if !paused, let latest { show(latest, elsewhere: latestElsewhere) }
        case .character("s"):
            sort = sort.toggled
            refresh()
        case .character("/"):
            editingFilter = filter
        case .escape where !filter.isEmpty:
            filter = ""
            refresh()
        case .character("c"): return ask(.cancel)
        case .character("t"): return ask(.terminate)
        case .enter, .character("\u{0C}"): break
        default: return []
        }
        return [.redraw]
    }

    private mutating func editFilter(_ key: Key) -> [LockViewAction] {
        switch key {
        case .enter:
            filter = editingFilter ?? ""
            editingFilter = nil
            refresh()
        case .escape:
            editingFilter = nil
        case .backspace:
            editingFilter = String((editingFilter ?? "").dropLast())
        case .character(let character) where Self.isPrintable(character):
            if (editingFilter ?? "").count < 64 { editingFilter = (editingFilter ?? "") + String(character) }
        default:
            return []
        }
        return [.redraw]
    }

    /// `y` sends, `n` or Escape does not; any other key leaves the question asked.
    private mutating func answer(_ key: Key, _ pending: Pending) -> [LockViewAction] {
        guard case .confirming(let identity, let kind) = pending else { return [] }
        switch key {
        case .character("y"), .character("Y"):
            self.pending = .sending(identity, kind)
            return [.signal(identity, kind), .redraw]
        case .character("n"), .character("N"), .escape:
            self.pending = nil
            say("nothing sent to pid \(identity.pid)")
            return [.redraw]
        default:
            return [.redraw]
        }
    }

    private mutating func ask(_ kind: SignalKind) -> [LockViewAction] {
        guard let row = selectedRow else {
            say("no session selected")
            return [.redraw]
        }
        guard row.pid != 0 else {
            let gids = row.blocker?.preparedGIDs.map { "'\($0)'" }.joined(separator: ", ") ?? ""
            say("a prepared transaction has no backend to signal: COMMIT PREPARED or ROLLBACK PREPARED \(gids)")
            return [.redraw]
        }
        pending = .lookingUp(pid: row.pid, kind)
        return [.lookUpIdentity(pid: row.pid, kind: kind), .redraw]
    }

    private static func isPrintable(_ character: Character) -> Bool {
        character.unicodeScalars.allSatisfy {
            $0.properties.generalCategory != .control && $0.properties.generalCategory != .format
        }
    }

    private mutating func say(_ text: String) {
        message = text
        messageUntil = now.addingTimeInterval(Self.messageLifetime)
    }

    private mutating func show(_ snapshot: LockSnapshot, elsewhere: [WaitsElsewhere]) {
        shown = snapshot
        self.elsewhere = elsewhere
        refresh()
    }

    /// Rebuilds the rows, keeping the selected session selected (or the same place when it has gone).
    private mutating func refresh() {
        rows = shown.map { SessionTree(ascii: ascii).rows($0, sort: sort, filter: filter) } ?? []
        let selectable = layout.selectable
        if let selectedPID, let position = selectable.firstIndex(where: { rows[$0].pid == selectedPID }) {
            selectedPosition = position
        }
        selectedPosition = min(selectedPosition, max(0, selectable.count - 1))
        selectedPID = selectable.isEmpty ? nil : rows[selectable[selectedPosition]].pid
        scroll = layout.scroll(toShow: selectable.isEmpty ? nil : selectable[selectedPosition], from: scroll)
    }

    private mutating func move(by offset: Int) {
        let selectable = layout.selectable
        guard !selectable.isEmpty else { return }
        selectedPosition = min(max(0, selectedPosition + offset), selectable.count - 1)
        selectedPID = rows[selectable[selectedPosition]].pid
        scroll = layout.scroll(toShow: selectable[selectedPosition], from: scroll)
    }
}
