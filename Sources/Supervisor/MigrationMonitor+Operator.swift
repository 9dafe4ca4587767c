import FoundationEssentials
import Response
import WaitGraph

extension MigrationMonitor {
    /// How long a "wait" answer holds before the operator is asked again (unless the blockers change first).
    static let waitAnswerHolds = Duration.seconds(30)

    /// Asks the operator about the migration's blockers and turns a confirmed answer into orders.
    func askOperator(
        _ waits: [LockWait],
        in snapshot: LockSnapshot,
        responder: BlockerResponder,
        context: ResponderContext
    ) -> [Response] {
        guard let prompt = promptIfInteractive else { return [] }
        let blockers = Array(Set(waits.flatMap(\.blockedBy)).subtracting([0])).sorted()
        guard !blockers.isEmpty else {
            if question != nil { log.say("the migration is no longer blocked") }
            endQuestion(prompt)
            return []
        }
        if let current = question, current.choices.map(\.pid) != blockers {
            endQuestion(prompt)  // the situation changed: ask afresh
        }
        if let until = waitUntil, ContinuousClock.now < until, question == nil { return [] }
        refreshQuestion(in: snapshot)
        if question == nil {
            waitUntil = nil
            let choices = blockers.map { pid in
                OperatorQuestion.Choice(
                    pid: pid,
                    summary: Self.describeBlocker(pid, in: snapshot),
                    idleInTransaction: snapshot.blocker(pid)?.activity?.state?.hasPrefix("idle in transaction") == true
                )
            }
            let asked = OperatorQuestion(choices: choices)
            question = asked
            prompt.ask()
            showQuestion(asked.text)
        }
        var orders: [Response] = []
        var shown: String?  // drawn once after the keys at hand: a burst of unknown keys is one redraw
        while var current = question, let key = prompt.takeKey() {
            let outcome = current.press(key)
            question = current
            switch outcome {
            case .show(let text):
                shown = text
            case .wait:
                log.say(
                    "waiting (operator); asking again in \(Int(Self.waitAnswerHolds.components.seconds))s or when the blockers change"
                )
                endQuestion(prompt)
                waitUntil = ContinuousClock.now + Self.waitAnswerHolds
            case .abort:
                endQuestion(prompt)
                abortMigration()
            case .signal(let action, let pids):
                endQuestion(prompt)
                orders += pids.compactMap { responder.order(action, on: $0, in: snapshot, context: context) }
            }
        }
        if let shown, question != nil { showQuestion(shown) }
        return orders
    }

    /// The question's figures (ages of the blockers' states and transactions) as this poll shows them,
    /// redrawn at most once a second, like the status line.
    private func refreshQuestion(in snapshot: LockSnapshot) {
        guard var current = question else { return }
        let now = ContinuousClock.now
        if let drawn = questionRefreshedAt, now - drawn < .seconds(1) { return }
        questionRefreshedAt = now
        let before = current.text
        let seen = current.choices.map(\.pid).filter { snapshot.blocker($0)?.activity != nil }
        current.refresh(Dictionary(uniqueKeysWithValues: seen.map { ($0, Self.describeBlocker($0, in: snapshot)) }))
        question = current
        if current.text != before { showQuestion(current.text) }
    }

    private var promptIfInteractive: OperatorPrompt? { operatorPrompt }

    private func endQuestion(_ prompt: OperatorPrompt) {
        guard question != nil else { return }
        question = nil
        prompt.settle()
        showQuestion(nil)
    }
}
