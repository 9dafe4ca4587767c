import Foundation
import Synchronization

/// The operator's answers, read from standard input on a thread of their own, so that the
/// monitor never blocks on a keyboard.
final class OperatorPrompt: Sendable {
    private let answers = Mutex<[String]>([])
    private let closed = Mutex(false)

    init() {
        Thread.detachNewThread { [self] in
            while let line = readLine() {
                answers.withLock { $0.append(line.trimmingCharacters(in: .whitespaces).lowercased()) }
            }
            closed.withLock { $0 = true }
        }
    }

    /// The oldest unread answer, if any.
    func takeAnswer() -> String? {
        answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    /// Whether standard input has ended (no more answers will come).
    var isClosed: Bool { closed.withLock { $0 } }
}
