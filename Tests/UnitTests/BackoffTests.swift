import Testing
import WardenSupport

@Suite("The pollers' one backoff")
struct BackoffTests {
    @Test("0.5 s doubling to the maximum, back to 0.5 s after a success")
    func doublesAndResets() {
        var backoff = Backoff(maximum: .seconds(5))
        #expect(
            (0..<6).map { _ in backoff.next() } == [
                .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5),
            ]
        )
        backoff.reset()
        #expect(backoff.next() == .milliseconds(500))
    }
}
