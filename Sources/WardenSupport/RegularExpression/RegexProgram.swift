/// A regular expression compiled for a Pike VM: a search that steps through the text once,
/// following every way to match at the same time, so that it takes time in proportion to the
/// text's length times the program's, whatever the expression (no backtracking).
struct RegexProgram: Sendable {
    enum Instruction: Sendable, Equatable {
        /// One character that the atom accepts, then the next instruction.
        case consume(RegexAtom)
        /// Both instructions (an alternative or a repetition).
        case split(Int, Int)
        case jump(Int)
        /// A zero-width test, then the next instruction.
        case assert(RegexAssertion)
        case match
    }

    /// The most instructions a program may have: `(a{1000}){1000}` is refused, not compiled.
    static let maximumSize = 100_000

    let instructions: [Instruction]
    /// What the first character of a match can be, when the start needs no assertion: while no
    /// match is under way, the search skips the characters that none of these accepts.
    let firstAtoms: [RegexAtom]?

    init(_ node: RegexNode) throws(RegularExpressionError) {
        var compiler = Compiler()
        try compiler.emit(node)
        compiler.instructions.append(.match)
        instructions = compiler.instructions
        firstAtoms = Self.firstAtoms(of: instructions)
    }

    /// The atoms of the consuming instructions reachable from the start without consuming;
    /// `nil` when an assertion or the match is among what is reachable.
    private static func firstAtoms(of instructions: [Instruction]) -> [RegexAtom]? {
        var atoms: [RegexAtom] = []
        var seen = Set<Int>()
        var stack = [0]
        while let pc = stack.popLast() {
            guard seen.insert(pc).inserted else { continue }
            switch instructions[pc] {
            case .consume(let atom): atoms.append(atom)
            case .jump(let target): stack.append(target)
            case .split(let first, let second): stack += [first, second]
            case .assert, .match: return nil
            }
        }
        return atoms
    }

    /// What a search found.
    enum Outcome { case found, notFound, gaveUp }

    /// Whether the expression occurs anywhere in `text`; checks `pastDeadline` after every 1,024 characters (never
    /// before the first: a short text is always searched to the end).
    func search(_ text: [Unicode.Scalar], pastDeadline: () -> Bool) -> Outcome {
        var current = ThreadList(capacity: instructions.count)
        var next = ThreadList(capacity: instructions.count)
        var stack: [Int] = []
        stack.reserveCapacity(instructions.count)
        var position = 0
        while position <= text.count {
            defer { position += 1 }
            if position > 0 && position % 1024 == 0 && pastDeadline() { return .gaveUp }
            if current.count == 0, let firstAtoms {
                // Nothing under way: on to the next character that could start a match.
                while position < text.count, !startsMatch(text[position], firstAtoms) {
                    position += 1
                    if position % 1024 == 0 && pastDeadline() { return .gaveUp }
                }
                guard position < text.count else { return .notFound }
            }
            // A new start at every position: the expression may match anywhere.
            if add(0, at: position, in: text, to: &current, stack: &stack) { return .found }
            guard position < text.count else { break }
            let character = text[position]
            for index in 0..<current.count {
                let pc = current.dense[index]
                if case .consume(let atom) = instructions[pc], atom.matches(character),
                    add(pc + 1, at: position + 1, in: text, to: &next, stack: &stack)
                {
                    return .found
                }
            }
            swap(&current, &next)
            next.clear()
        }
        return .notFound
    }

    /// Whether one of `atoms` accepts `character` (the common case, one plain character, compared directly).
    private func startsMatch(_ character: Unicode.Scalar, _ atoms: [RegexAtom]) -> Bool {
        if atoms.count == 1, case .scalar(let expected, caseInsensitive: false) = atoms[0] {
            return character == expected
        }
        return atoms.contains { $0.matches(character) }
    }

    /// Adds the thread at `pc` and everything reachable from it without consuming a character;
    /// true when that reaches `match`.
    private func add(
        _ pc: Int,
        at position: Int,
        in text: [Unicode.Scalar],
        to list: inout ThreadList,
        stack: inout [Int]
    ) -> Bool {
        stack.removeAll(keepingCapacity: true)
        stack.append(pc)
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            switch instructions[pc] {
            case .match: return true
            case .consume: break
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assert(let assertion):
                let previous = position > 0 ? text[position - 1] : nil
                let next = position < text.count ? text[position] : nil
                if assertion.holds(previous: previous, next: next, nextIsLast: position + 1 == text.count) {
                    stack.append(pc + 1)
                }
            }
        }
        return false
    }

    /// The set of instruction indices live at one position (a sparse set: clearing is O(1)).
    private struct ThreadList {
        var dense: [Int]
        var sparse: [Int]
        var count = 0

        init(capacity: Int) {
            dense = Array(repeating: 0, count: capacity)
            sparse = Array(repeating: 0, count: capacity)
        }

        /// Inserts `pc`; false when it was there already.
        mutating func insert(_ pc: Int) -> Bool {
            let slot = sparse[pc]
            if slot < count && dense[slot] == pc { return false }
            sparse[pc] = count
            dense[count] = pc
            count += 1
            return true
        }

        mutating func clear() { count = 0 }
    }

    private struct Compiler {
        var instructions: [Instruction] = []

        mutating func emit(_ node: RegexNode) throws(RegularExpressionError) {
            guard instructions.count < RegexProgram.maximumSize else {
                throw RegularExpressionError(reason: "the expression is too large", offset: 0)
            }
            switch node {
            case .empty: break
            case .atom(let atom): instructions.append(.consume(atom))
            case .assertion(let assertion): instructions.append(.assert(assertion))
            case .concatenation(let nodes): for node in nodes { try emit(node) }
            case .alternation(let nodes): try alternation(nodes)
            case .repetition(let node, let minimum, let maximum): try repetition(node, minimum, maximum)
            }
        }

        private mutating func alternation(_ nodes: [RegexNode]) throws(RegularExpressionError) {
            var jumps: [Int] = []
            for (index, node) in nodes.enumerated() {
                if index == nodes.count - 1 {
                    try emit(node)
                } else {
                    let split = placeholder()
                    try emit(node)
                    jumps.append(placeholder())
                    instructions[split] = .split(split + 1, instructions.count)
                }
            }
            for jump in jumps { instructions[jump] = .jump(instructions.count) }
        }

        private mutating func repetition(_ node: RegexNode, _ minimum: Int, _ maximum: Int?)
            throws(RegularExpressionError)
        {
            for _ in 0..<minimum { try emit(node) }
            guard let maximum else {
                // node*: L: split(body, out); body; jump L
                let loop = placeholder()
                try emit(node)
                instructions.append(.jump(loop))
                instructions[loop] = .split(loop + 1, instructions.count)
                return
            }
            // Each optional copy: split(body, out); body — all exits to the end.
            var splits: [Int] = []
            for _ in minimum..<maximum {
                splits.append(placeholder())
                try emit(node)
            }
            for split in splits { instructions[split] = .split(split + 1, instructions.count) }
        }

        private mutating func placeholder() -> Int {
            instructions.append(.match)
            return instructions.count - 1
        }
    }
}
