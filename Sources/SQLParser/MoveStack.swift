/// A stack whose top elements are moved out into an array of their own: no copy, no retain or release of what
/// they hold, and nothing destroyed on the stack. ``ParseTreeJSON`` keeps the values of its open containers in
/// two, each container made once, at its size, when it closes.
package final class MoveStack<Element> {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    /// How many elements the stack holds.
    package private(set) var count = 0

    /// An empty stack with room for `capacity` elements; it grows as needed.
    package init(capacity: Int = 64) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Puts `element` on top.
    package func push(_ element: consuming Element) {
        if count == capacity {
            let grown = UnsafeMutablePointer<Element>.allocate(capacity: 2 * capacity)
            grown.moveInitialize(from: base, count: count)
            base.deallocate()
            base = grown
            capacity *= 2
        }
        (base + count).initialize(to: element)
        count += 1
    }

    /// The elements from position `start` to the top, in order, taken off the stack.
    package func pop(from start: Int) -> [Element] {
        precondition(start >= 0 && start <= count, "MoveStack.pop(from:) beyond the stack")
        let end = count
        guard end > start else { return [] }
        count = start
        // Moved one by one into an array of the right capacity: `Array(unsafeUninitializedCapacity:)` looks its
        // storage's type up at run time, which cost more than the moves.
        var taken = [Element]()
        taken.reserveCapacity(end - start)
        for position in start..<end { taken.append((base + position).move()) }
        return taken
    }
}
