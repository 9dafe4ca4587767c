/// Several worker sets paused and resumed as one, as a pure state machine: events in, actions out.
///
/// Pausing goes in order and is all or nothing: the first set that cannot be paused stops it, and the
/// error names that set and why. Resuming goes in reverse order over every set whose pause was begun
/// (a failed pause may have half-happened), each tried even when an earlier one failed; each failure is
/// named.
///
/// Sets on other hosts may be in flight together, up to `limit` at once (`parallel_hosts`), each begun in
/// order; a set here runs alone. After a failure nothing more is begun, and the pause ends (``Action/pauseFailed(_:)``)
/// only once every pause in flight has answered, so that each one that succeeded meanwhile is resumed too.
package struct WorkerSetsMachine: Sendable, Equatable {
    /// Where one set stands.
    package enum SetState: String, Sendable, Equatable, Codable {
        case pending, pausing, paused, pauseFailed = "pause-failed", resuming, resumed
        case resumeFailed = "resume-failed"
    }

    /// What to do next.
    package enum Action: Sendable, Equatable {
        case pause(Int)
        /// Nothing more may begin now: wait for a set in flight to answer.
        case wait
        /// Every set is paused.
        case paused
        /// A set could not be paused: the run resumes what was begun, and the migration never runs.
        case pauseFailed(Failure)
        case resume(Int)
        /// Every set whose pause was begun was tried; the failures, in the order tried.
        case resumed(failures: [Failure])
    }

    /// Which set failed, and why.
    package struct Failure: Sendable, Equatable {
        package var index: Int
        package var reason: String

        package init(_ index: Int, _ reason: String) {
            self.index = index
            self.reason = reason
        }
    }

    /// What happened to a set.
    package enum Event: Sendable, Equatable {
        case paused(Int)
        case pauseFailed(Int, String)
        case resumed(Int)
        case resumeFailed(Int, String)
    }

    /// The names of the sets, for messages (`workers[2] (supervisor app-worker:*)`).
    ///
    /// A set's failure is named with it: `workers[2] (…) cannot be paused: why`; the one set of the flags alone
    /// as before: `the workers were not paused: why`.
    package let names: [String]
    package private(set) var states: [SetState]
    private(set) var pauseFailure: Failure?
    private(set) var resumeFailures: [Failure] = []
    private var resuming = false
    /// Whether each set may be in flight beside others (it runs on another host).
    package let overlapping: [Bool]
    /// How many sets may be in flight at once.
    package let limit: Int

    /// - Parameters:
    ///   - overlapping: for each set, whether it may be in flight beside others (it runs on another host);
    ///     none when empty.
    ///   - limit: how many may be in flight at once (at least 1).
    package init(names: [String], overlapping: [Bool] = [], limit: Int = 1) {
        self.names = names
        states = Array(repeating: .pending, count: names.count)
        self.overlapping = names.indices.map { $0 < overlapping.count && overlapping[$0] }
        self.limit = max(1, limit)
    }

    /// What to do now.
    package func next() -> Action {
        if resuming {
            let inFlight = states.indices.filter { states[$0] == .resuming }
            if let index = states.indices.reversed().first(where: {
                [.pausing, .paused, .pauseFailed].contains(states[$0])
            }) {
                return mayBegin(index, beside: inFlight) ? .resume(index) : .wait
            }
            return inFlight.isEmpty ? .resumed(failures: resumeFailures.sorted { $0.index > $1.index }) : .wait
        }
        let inFlight = states.indices.filter { states[$0] == .pausing }
        if let pauseFailure { return inFlight.isEmpty ? .pauseFailed(pauseFailure) : .wait }
        if let index = states.firstIndex(of: .pending) {
            return mayBegin(index, beside: inFlight) ? .pause(index) : .wait
        }
        return inFlight.isEmpty ? .paused : .wait
    }

    /// Whether set `index` may begin beside the sets `inFlight`: only sets on other hosts overlap, up to the limit.
    private func mayBegin(_ index: Int, beside inFlight: [Int]) -> Bool {
        inFlight.isEmpty
            || (overlapping[index] && inFlight.count < limit && inFlight.allSatisfy { overlapping[$0] })
    }

    /// Marks set `index` as begun: journaled by the executor before it acts.
    package mutating func begin(_ action: Action) {
        switch action {
        case .pause(let index): states[index] = .pausing
        case .resume(let index): states[index] = .resuming
        default: break
        }
    }

    /// Takes in what happened.
    package mutating func receive(_ event: Event) {
        switch event {
        case .paused(let index): states[index] = .paused
        case .pauseFailed(let index, let reason):
            states[index] = .pauseFailed
            // The first in the order given, whichever answered first.
            if pauseFailure.map({ index < $0.index }) ?? true { pauseFailure = Failure(index, reason) }
        case .resumed(let index): states[index] = .resumed
        case .resumeFailed(let index, let reason):
            states[index] = .resumeFailed
            resumeFailures.append(Failure(index, reason))
        }
    }

    /// From now on, resumes: every set whose pause was begun, in reverse order. A second call (a resume on a
    /// later path) retries those whose resume failed. Failures are given in the order tried (reverse order).
    package mutating func beginResume() {
        resuming = true
        resumeFailures = []
        states = states.map { $0 == .resumeFailed || $0 == .resuming ? .paused : $0 }
    }

    /// `failure` as the run says it: naming the set, unless it is the run's only one.
    package func describe(_ failure: Failure, pausing: Bool) -> String {
        names.count == 1
            ? "the workers were not \(pausing ? "paused" : "resumed"): \(failure.reason)"
            : "\(names[failure.index]) \(pausing ? "cannot be paused" : "was not resumed"): \(failure.reason)"
    }

    /// Whether some set may still be paused.
    package var anyMayBePaused: Bool {
        states.contains { ![.pending, .resumed].contains($0) }
    }
}
