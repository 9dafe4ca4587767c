import Response

/// The operator's question about the migration's blockers, as a pure state machine: keys in,
/// what to show and what to do out. Nothing is done on a bare Enter (it redraws), an unknown key
/// asks again, and a terminate or an abort needs a `y` to confirm it.
struct OperatorQuestion: Sendable, Equatable {
    /// One blocker offered, numbered from 1 in ``choices``.
    struct Choice: Sendable, Equatable {
        let pid: Int32
        let summary: String
        let idleInTransaction: Bool
    }

    /// What the monitor does after a key.
    enum Outcome: Sendable, Equatable {
        /// Show `text` (the question, again or changed).
        case show(String)
        /// Signal these blockers (the responder checks their identity).
        case signal(SignalAction, [Int32])
        /// Stop the migration.
        case abort
        /// Do nothing for now; ask again when the blockers change or after the stated time.
        case wait
    }

    private enum Step: Sendable, Equatable {
        case choosing
        case target(SignalAction)
        case confirming(SignalAction, [Int32])
        case confirmingAbort
    }

    private(set) var choices: [Choice]
    private var step = Step.choosing

    init(choices: [Choice]) {
        self.choices = choices
    }

    /// The same blockers as the poll shows them now (their state's and transaction's ages go on):
    /// each summary replaced, the step kept. A question asked at 6 s must not still say 6 s at 42 s.
    mutating func refresh(_ summaries: [Int32: String]) {
        choices = choices.map { choice in
            Choice(
                pid: choice.pid,
                summary: summaries[choice.pid] ?? choice.summary,
                idleInTransaction: choice.idleInTransaction
            )
        }
    }

    /// The text that asks the current step.
    var text: String {
        switch step {
        case .choosing:
            let list = choices.enumerated().map { "  \($0.offset + 1)) \($0.element.summary)" }.joined(separator: "\n")
            let idle =
                choices.contains(where: \.idleInTransaction)
                ? "\n  (idle in transaction: only terminate releases its locks)" : ""
            return "the migration is blocked by:\n\(list)\(idle)\n"
                + "[c]ancel, [t]erminate, [w]ait, [a]bort the migration? "
        case .target(let action):
            return "\(action.rawValue) which? [1-\(choices.count), * for all] "
        case .confirming(let action, let pids):
            let names = pids.compactMap { pid in choices.first { $0.pid == pid }?.summary }
            return names.map { "  \(action.rawValue) \($0)" }.joined(separator: "\n")
                + "\n\(action.rawValue) \(pids.count == 1 ? "this session" : "these \(pids.count) sessions")? [y/n] "
        case .confirmingAbort:
            return "abort the migration (its process group gets SIGTERM)? [y/n] "
        }
    }

    /// Takes one key.
    mutating func press(_ key: Character) -> Outcome {
        let key = Character(key.lowercased())
        switch step {
        case .choosing:
            switch key {
            case "c", "t":
                let action: SignalAction = key == "c" ? .cancel : .terminate
                if choices.count == 1 { return chose(action, [choices[0].pid]) }
                step = .target(action)
            case "w": return .wait
            case "a": step = .confirmingAbort
            default: return .show(Self.unknown(key) + text)
            }
        case .target(let action):
            if key == "*" { return chose(action, choices.map(\.pid)) }
            if let number = key.wholeNumberValue, (1...choices.count).contains(number) {
                return chose(action, [choices[number - 1].pid])
            }
            if key == "\u{1b}" || key == "n" { step = .choosing } else { return .show(Self.unknown(key) + text) }
        case .confirming(let action, let pids):
            step = .choosing
            if key == "y" { return .signal(action, pids) }
            if key != "n" { step = .confirming(action, pids); return .show(Self.unknown(key) + text) }
        case .confirmingAbort:
            step = .choosing
            if key == "y" { return .abort }
            if key != "n" { step = .confirmingAbort; return .show(Self.unknown(key) + text) }
        }
        return .show(text)
    }

    private mutating func chose(_ action: SignalAction, _ pids: [Int32]) -> Outcome {
        if action == .cancel {
            step = .choosing
            return .signal(.cancel, pids)
        }
        step = .confirming(action, pids)
        return .show(text)
    }

    private static func unknown(_ key: Character) -> String {
        key == "\n" || key == "\r"
            ? "" : "(\(key.isLetter || key.isNumber ? String(key) : "that key") does nothing here) "
    }
}
