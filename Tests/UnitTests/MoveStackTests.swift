import SQLParser
import Testing

@Suite("A stack whose top is moved out into arrays")
struct MoveStackTests {
    final class Counted {
        nonisolated(unsafe) static var alive = 0
        let value: Int
        init(_ value: Int) {
            self.value = value
            Counted.alive += 1
        }
        deinit { Counted.alive -= 1 }
    }

    @Test("pops in order from a position, nested as containers are; grows past its capacity")
    func popsInOrder() {
        let stack = MoveStack<String>(capacity: 1)
        for word in ["a", "b", "c"] { stack.push(word) }
        let inner = stack.count
        for word in ["d", "e", "f", "g"] { stack.push(word) }
        #expect(stack.pop(from: inner) == ["d", "e", "f", "g"])
        #expect(stack.pop(from: stack.count) == [])
        #expect(stack.pop(from: 1) == ["b", "c"])
        #expect(stack.count == 1)
        stack.push("h")
        #expect(stack.pop(from: 0) == ["a", "h"])
    }

    @Test("moves, never copies or leaks: every element is released once, popped or left on the stack")
    func ownership() {
        do {
            let stack = MoveStack<Counted>()
            for value in 0..<200 { stack.push(Counted(value)) }
            let popped = stack.pop(from: 150)
            #expect(popped.map(\.value) == Array(150..<200))
            #expect(Counted.alive == 200)
        }
        #expect(Counted.alive == 0)
    }
}
