import Testing

@testable import Supervisor

/// Several worker sets paused all or nothing and resumed in reverse, without processes.
@Suite("Worker sets as a state machine")
struct WorkerSetsMachineTests {
    typealias Machine = WorkerSetsMachine

    /// Pauses, answering each set's pause from `pauseFails`, then resumes, answering from `resumeFails`;
    /// returns every action asked for.
    static func drive(
        _ count: Int,
        pauseFails: [Int: String] = [:],
        resumeFails: [Int: String] = [:]
    ) -> (actions: [Machine.Action], machine: Machine) {
        var machine = Machine(names: (0..<count).map { "workers[\($0 + 1)]" })
        var actions: [Machine.Action] = []
        while case .pause(let index) = machine.next() {
            actions.append(.pause(index))
            machine.begin(.pause(index))
            machine.receive(pauseFails[index].map { .pauseFailed(index, $0) } ?? .paused(index))
        }
        actions.append(machine.next())
        machine.beginResume()
        while case .resume(let index) = machine.next() {
            actions.append(.resume(index))
            machine.begin(.resume(index))
            machine.receive(resumeFails[index].map { .resumeFailed(index, $0) } ?? .resumed(index))
        }
        actions.append(machine.next())
        return (actions, machine)
    }

    @Test("every set is paused in order, and resumed in reverse order")
    func inOrder() {
        let (actions, machine) = Self.drive(3)
        #expect(
            actions == [
                .pause(0), .pause(1), .pause(2), .paused, .resume(2), .resume(1), .resume(0), .resumed(failures: []),
            ]
        )
        #expect(!machine.anyMayBePaused)
    }

    @Test("all or nothing: a set that cannot be paused stops the pause; those begun are resumed, the rest untouched")
    func allOrNothing() {
        let (actions, machine) = Self.drive(4, pauseFails: [2: "no such program"])
        #expect(
            actions == [
                .pause(0), .pause(1), .pause(2), .pauseFailed(.init(2, "no such program")),
                // The failed set may have half-paused: it is resumed too; set 3 was never begun.
                .resume(2), .resume(1), .resume(0), .resumed(failures: []),
            ]
        )
        #expect(machine.states == [.resumed, .resumed, .resumed, .pending])
        #expect(
            machine.describe(.init(2, "no such program"), pausing: true)
                == "workers[3] cannot be paused: no such program"
        )
    }

    @Test("a failed resume does not stop the others, and is named")
    func resumeFailure() {
        let (actions, machine) = Self.drive(3, resumeFails: [1: "supervisorctl failed"])
        #expect(
            actions == [
                .pause(0), .pause(1), .pause(2), .paused, .resume(2), .resume(1), .resume(0),
                .resumed(failures: [.init(1, "supervisorctl failed")]),
            ]
        )
        #expect(machine.anyMayBePaused)
        #expect(machine.states[1] == .resumeFailed)
    }

    @Test("a second resume retries only what is still paused")
    func resumeAgain() {
        var machine = Self.drive(3, resumeFails: [1: "x"]).machine
        machine.beginResume()
        #expect(machine.next() == .resume(1))
        machine.begin(.resume(1))
        machine.receive(.resumed(1))
        #expect(machine.next() == .resumed(failures: []))
    }

    @Test("one set alone is said as before: the workers were not paused")
    func single() {
        let machine = Machine(names: ["workers[1] (crontab of app (x))"])
        #expect(machine.describe(.init(0, "why"), pausing: true) == "the workers were not paused: why")
        #expect(machine.describe(.init(0, "why"), pausing: false) == "the workers were not resumed: why")
    }

    @Test("no sets: nothing to pause or resume")
    func none() {
        #expect(Self.drive(0).actions == [.paused, .resumed(failures: [])])
    }
}
