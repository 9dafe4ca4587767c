import FoundationEssentials
import WaitGraph
import WardenSupport

extension LockViewScreen {
    /// The last three lines: the selected session's lock and query, then the keys; or the
    /// identity of the session a signal would go to, and the question.
    func footer(_ model: LockViewModel) -> [Line] {
        let dot = model.ascii ? " - " : " · "
        switch model.pending {
        case .confirming(let identity, let kind):
            let verb = kind == .terminate ? "Terminate" : "Cancel"
            // A running pgwarden migration is said in the question itself (ending it fails the upgrade); who
            // claims it, on the line above.
            let migration = identity.claim.map { ": migration of pgwarden \(ScreenText.clean($0.by))" }
            return identityLines(identity, dot: dot)
                + [Line(text: "\(verb) pid \(identity.pid)\(migration ?? "")? (y/n)", style: .question)]
        case .lookingUp(let pid, _):
            return detail(model, dot: dot) + [Line(text: "reading who pid \(pid) is…")]
        case .sending(let identity, let kind):
            let verb = kind == .terminate ? "terminating" : "cancelling"
            return identityLines(identity, dot: dot) + [Line(text: "\(verb) pid \(identity.pid)…")]
        case nil:
            break
        }
        if let editing = model.editingFilter {
            return detail(model, dot: dot)
                + [Line(text: "filter (database, user or application; Enter applies, Esc cancels): " + editing + "_")]
        }
        let last: Line
        if let message = model.message {
            last = Line(text: ScreenText.clean(message), style: .title)
        } else if let error = model.pollError {
            last = Line(text: "poll failed: " + ScreenText.clean(error), style: .title)
        } else {
            let arrows = model.ascii ? "j/k" : "↑↓"
            last = Line(text: "\(arrows) select  c cancel  t terminate  space pause  s sort  / filter  q quit")
        }
        return detail(model, dot: dot) + [last]
    }

    /// `pid 13272 · postgres@shop · psql · idle in transaction` and its start times.
    private func identityLines(_ identity: ShownSession, dot: String) -> [Line] {
        var who = ["pid \(identity.pid)"]
        let user = identity.user.map(ScreenText.clean) ?? "?"
        who.append(identity.database.map { user + "@" + ScreenText.clean($0) } ?? user)
        if let application = identity.application, !application.isEmpty {
            who.append("app " + ScreenText.clean(application))
        }
        if let state = identity.state { who.append(ScreenText.clean(state)) }
        var when: [String] = []
        if let start = identity.backendStart { when.append("backend start " + Self.time(start)) }
        if let start = identity.queryStart { when.append("query start " + Self.time(start)) }
        if let claim = identity.claim {
            when.append("claimed by role \(ScreenText.clean(claim.holderRole)), pid \(claim.holderPID)")
        }
        return [Line(text: who.joined(separator: dot)), Line(text: when.joined(separator: dot))]
    }

    /// The selected session: what it waits for or how many it blocks, then its query.
    private func detail(_ model: LockViewModel, dot: String) -> [Line] {
        guard let row = model.selectedRow else { return [Line(text: ""), Line(text: "")] }
        var parts = ["pid \(row.pid)"]
        if let wait = row.wait {
            parts.append("waits \(DurationSyntax.format(seconds: wait.waitingSeconds)) for \(describe(wait.lock))")
            if !wait.blockedBy.isEmpty {
                parts.append("blocked by " + wait.blockedBy.map(String.init).joined(separator: ", "))
            }
        } else if let state = row.activity?.state {
            parts.append(
                ScreenText.clean(state)
                    + (row.activity?.stateSeconds.map { " " + DurationSyntax.format(seconds: $0) } ?? "")
            )
        } else if row.activity != nil {
            parts.append("state hidden: pgwarden's role lacks pg_monitor")
        }
        if let blocker = row.blocker {
            let direct = blocker.blocks.count
            parts.append(
                blocker.blockedTotal == direct
                    ? "blocks \(direct)" : "blocks \(blocker.blockedTotal) (\(direct) directly)"
            )
        }
        if row.inCycle { parts.append("in a cycle (deadlock not yet detected)") }
        if let progress = row.blocker?.progress { parts.append(progress.text) }
        let query = row.activity?.query.map(ScreenText.clean) ?? ""
        return [Line(text: ScreenText.clean(parts.joined(separator: dot))), Line(text: query)]
    }

    /// `2026-12-01 17:40:01Z`.
    static func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(printf: "%02d", value ?? 0) }
        return "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day)) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))Z"
    }
}
