import Response
import Testing

@testable import Supervisor

/// The operator's question: nothing without an explicit key, terminate and abort confirmed.
@Suite("Operator question")
struct OperatorQuestionTests {
    static let one = OperatorQuestion(choices: [
        .init(pid: 7, summary: "pid 7, idle in transaction", idleInTransaction: true)
    ])
    static let two = OperatorQuestion(choices: [
        .init(pid: 7, summary: "pid 7", idleInTransaction: true),
        .init(pid: 8, summary: "pid 8", idleInTransaction: false),
    ])

    @Test("a bare Enter and unknown keys never act: they show the question again")
    func enterDoesNothing() {
        var question = Self.one
        for key: Character in ["\n", "\r", "x", " ", "9"] {
            guard case .show = question.press(key) else {
                Issue.record("key \(key.debugDescription) acted")
                return
            }
        }
    }

    @Test("terminate needs y; n goes back; cancel needs no confirmation")
    func confirmation() {
        var question = Self.one
        guard case .show(let text) = question.press("t") else { return #expect(Bool(false)) }
        #expect(text.contains("[y/n]"))
        guard case .show = question.press("\n") else { return #expect(Bool(false)) }
        guard case .show = question.press("n") else { return #expect(Bool(false)) }
        _ = question.press("t")
        #expect(question.press("y") == .signal(.terminate, [7]))
        #expect(question.press("c") == .signal(.cancel, [7]))
    }

    @Test("several blockers: by number, or all; abort is confirmed")
    func several() {
        var question = Self.two
        _ = question.press("t")
        _ = question.press("*")
        #expect(question.press("y") == .signal(.terminate, [7, 8]))
        _ = question.press("c")
        #expect(question.press("2") == .signal(.cancel, [8]))
        _ = question.press("a")
        #expect(question.press("y") == .abort)
        #expect(question.press("w") == .wait)
    }

    @Test("the figures follow the poll: a question asked at 6.3s says 42s later on, at the same step")
    func figuresFollowThePoll() {
        var question = OperatorQuestion(choices: [
            .init(pid: 7, summary: "pid 7, idle in transaction 6.3s", idleInTransaction: true)
        ])
        #expect(question.text.contains("idle in transaction 6.3s"))
        question.refresh([7: "pid 7, idle in transaction 42s"])
        #expect(question.text.contains("idle in transaction 42s") && !question.text.contains("6.3s"))
        _ = question.press("t")
        _ = question.press("1")
        question.refresh([7: "pid 7, idle in transaction 43s", 9: "not asked about"])
        #expect(question.text.hasPrefix("  terminate pid 7, idle in transaction 43s"), "\(question.text)")
        #expect(question.press("y") == .signal(.terminate, [7]))
    }
}
