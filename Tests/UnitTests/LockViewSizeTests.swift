import Foundation
import Testing

@testable import LockView

/// The lock view's size, as the runner feeds it to the model: the size now always wins.
@Suite("Lock view: the last size wins")
struct LockViewSizeTests {
    let small = ScreenSize(rows: 1, columns: 1)
    let final = ScreenSize(rows: 24, columns: 80)

    @Test("a resize event carries the size read when its signal was handled; the size now replaces it")
    func staleResize() {
        #expect(LockViewRunner.withSizeNow(.resize(small), final, small) == [.resize(final)])
    }

    @Test("a lost SIGWINCH: the next tick or poll brings the size now before itself; an unchanged size adds nothing")
    func lostSignal() {
        let tick = LockViewEvent.tick(Date(timeIntervalSince1970: 0))
        #expect(LockViewRunner.withSizeNow(tick, final, small) == [.resize(final), tick])
        #expect(LockViewRunner.withSizeNow(tick, final, final) == [tick])
    }
}
