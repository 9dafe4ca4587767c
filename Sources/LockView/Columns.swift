import WaitGraph
import WardenSupport

/// The columns of the session rows, sized for the screen's width: the identity (user@db and
/// application) keeps its width and the query takes what is left.
struct Columns {
    let treeWidth: Int
    let pidWidth: Int
    let identityWidth: Int
    let applicationWidth: Int
    let queryWidth: Int
    let ellipsis: String

    static let stateWidth = 10
    static let ageWidth = 5
    /// The query column keeps at least this many columns when the screen has them, however long the names:
    /// a row without its query does not say what the session does.
    static let minimumQueryWidth = 3
    /// The tree drawing shows at most this many characters before the pid (deeper: `…` and the last levels).
    static let maxTreeWidth = 6

    init(_ rows: [SessionRow], width: Int, ellipsis: String) {
        self.ellipsis = ellipsis
        treeWidth = min(Self.maxTreeWidth, rows.map(\.connector.count).max() ?? 0)
        pidWidth = max(3, rows.map { String($0.pid).count }.max() ?? 3)
        var identity = max(7, rows.map { DisplayWidth.columns(of: Self.identity($0.activity)) }.max() ?? 0)
        var application = max(3, rows.map { DisplayWidth.columns(of: Self.application($0.activity)) }.max() ?? 0)
        // marker, tree+pid, identity, application, state, wait, xact, query: separated by spaces.
        let fixed = 2 + treeWidth + pidWidth + 1 + 1 + 1 + Self.stateWidth + 1 + Self.ageWidth + 1 + Self.ageWidth + 1
        let spare = max(6, width - fixed - Self.minimumQueryWidth)
        if identity + application > spare {
            // Only on a very narrow screen, or with very long names: share what there is.
            let share = max(3, spare / 2)
            if identity > share && application > share {
                identity = share
                application = max(3, spare - share)
            } else if identity > application {
                identity = max(3, spare - application)
            } else {
                application = max(3, spare - identity)
            }
        }
        identityWidth = identity
        applicationWidth = application
        queryWidth = max(0, width - fixed - identity - application)
    }

    /// The column names, aligned with ``format(_:)``.
    var names: String {
        let head = "  " + ScreenText.fit("PID", treeWidth + pidWidth, ellipsis: ellipsis, right: true)
        return [
            head, fit("USER@DB", identityWidth), fit("APP", applicationWidth), fit("STATE/LOCK", Self.stateWidth),
            fit("WAIT", Self.ageWidth, right: true), fit("XACT", Self.ageWidth, right: true), "QUERY",
        ].joined(separator: " ")
    }

    /// One session, without the selection marker.
    func format(_ row: SessionRow) -> String {
        let activity = row.activity
        var tree = row.connector
        if tree.count > treeWidth { tree = ellipsis + String(tree.suffix(treeWidth - ellipsis.count)) }
        let pid = tree + ScreenText.fit(String(row.pid), treeWidth + pidWidth - tree.count, ellipsis: "", right: true)
        let wait = row.wait.map { DurationSyntax.format(seconds: $0.waitingSeconds) } ?? ""
        let xact = activity?.xactSeconds.map { DurationSyntax.format(seconds: $0) } ?? ""
        let query = activity?.query.map(ScreenText.clean) ?? (row.pid == 0 ? "prepared transaction" : "")
        return [
            pid, fit(Self.identity(activity), identityWidth), fit(Self.application(activity), applicationWidth),
            fit(Self.stateOrLock(row), Self.stateWidth), fit(wait, Self.ageWidth, right: true),
            fit(xact, Self.ageWidth, right: true), ScreenText.cut(query, to: queryWidth, ellipsis: ellipsis),
        ].joined(separator: " ")
    }

    private func fit(_ text: String, _ width: Int, right: Bool = false) -> String {
        ScreenText.fit(text, width, ellipsis: ellipsis, right: right)
    }

    /// `user@database`, cleaned.
    static func identity(_ activity: SessionActivity?) -> String {
        guard let activity else { return "" }
        let user = activity.usename.map(ScreenText.clean) ?? "?"
        return activity.datname.map { user + "@" + ScreenText.clean($0) } ?? user
    }

    static func application(_ activity: SessionActivity?) -> String {
        guard let activity else { return "" }
        if let backendType = activity.backendType, backendType != "client backend" {
            return ScreenText.clean(backendType)
        }
        return ScreenText.clean(activity.applicationName ?? "")
    }

    /// For a waiter, the lock mode it wants; otherwise the session's state; both shortened to fit.
    static func stateOrLock(_ row: SessionRow) -> String {
        if let wait = row.wait { return shortMode(wait.lock.mode) }
        if row.pid == 0 { return "prepared" }
        // Another role's state reads NULL without pg_monitor: say so, not "?" (the footer says why).
        guard let state = row.activity?.state else { return row.activity == nil ? "gone" : "hidden" }
        let short = [
            "idle in transaction": "idle in tx", "idle in transaction (aborted)": "idle abort",
            "fastpath function call": "fastpath",
        ]
        return short[state] ?? state
    }

    static func shortMode(_ mode: String) -> String {
        let short = [
            "AccessShareLock": "AccessShr", "RowShareLock": "RowShare", "RowExclusiveLock": "RowExcl",
            "ShareUpdateExclusiveLock": "ShrUpdExcl", "ShareLock": "Share", "ShareRowExclusiveLock": "ShrRowExcl",
            "ExclusiveLock": "Exclusive", "AccessExclusiveLock": "AccessExcl",
        ]
        return short[mode] ?? mode
    }
}
