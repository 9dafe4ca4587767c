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

/// Sets on other hosts in flight together, up to the limit (`parallel_hosts`).
extension WorkerSetsMachineTests {
    /// Begins every action the machine allows now; returns them.
    static func beginAll(_ machine: inout Machine) -> [Machine.Action] {
        var begun: [Machine.Action] = []
        while true {
            let action = machine.next()
            switch action {
            case .pause, .resume:
                machine.begin(action)
                begun.append(action)
            default:
                begun.append(action)
                return begun
            }
        }
    }

    static func remote(_ count: Int, limit: Int, local: Set<Int> = []) -> Machine {
        Machine(
            names: (0..<count).map { "workers[\($0 + 1)]" },
            overlapping: (0..<count).map { !local.contains($0) },
            limit: limit
        )
    }

    @Test("hosts are begun in order, up to the limit at once; the next begins as one answers")
    func boundedAtOnce() {
        var machine = Self.remote(5, limit: 3)
        #expect(Self.beginAll(&machine) == [.pause(0), .pause(1), .pause(2), .wait])
        machine.receive(.paused(1))
        #expect(Self.beginAll(&machine) == [.pause(3), .wait])
        machine.receive(.paused(0))
        machine.receive(.paused(2))
        #expect(Self.beginAll(&machine) == [.pause(4), .wait])
        machine.receive(.paused(3))
        #expect(machine.next() == .wait)
        machine.receive(.paused(4))
        #expect(machine.next() == .paused)
        machine.beginResume()
        #expect(Self.beginAll(&machine) == [.resume(4), .resume(3), .resume(2), .wait])
        machine.receive(.resumeFailed(3, "unreachable"))
        machine.receive(.resumed(4))
        #expect(Self.beginAll(&machine) == [.resume(1), .resume(0), .wait])
        machine.receive(.resumeFailed(0, "refused"))
        machine.receive(.resumed(2))
        #expect(machine.next() == .wait)
        machine.receive(.resumed(1))
        // In the order tried, whichever answered first.
        #expect(machine.next() == .resumed(failures: [.init(3, "unreachable"), .init(0, "refused")]))
    }

    @Test("a failure while others are in flight: nothing more begins; the end waits for them; each is resumed")
    func failureInFlight() {
        var machine = Self.remote(5, limit: 3)
        _ = Self.beginAll(&machine)
        machine.receive(.pauseFailed(1, "cannot reach h2"))
        #expect(machine.next() == .wait)
        machine.receive(.paused(2))
        #expect(machine.next() == .wait)
        // A later failure is not the one named: the first in the order given is.
        machine.receive(.pauseFailed(0, "h1 refused"))
        #expect(machine.next() == .pauseFailed(.init(0, "h1 refused")))
        machine.beginResume()
        #expect(Self.beginAll(&machine) == [.resume(2), .resume(1), .resume(0), .wait])
        machine.receive(.resumed(0))
        machine.receive(.resumed(1))
        machine.receive(.resumed(2))
        #expect(machine.next() == .resumed(failures: []))
        #expect(machine.states == [.resumed, .resumed, .resumed, .pending, .pending])
    }

    @Test("a set here runs alone: it waits for the hosts in flight, and none begins beside it")
    func localAlone() {
        var machine = Self.remote(4, limit: 8, local: [2])
        #expect(Self.beginAll(&machine) == [.pause(0), .pause(1), .wait])
        machine.receive(.paused(0))
        #expect(machine.next() == .wait)
        machine.receive(.paused(1))
        #expect(Self.beginAll(&machine) == [.pause(2), .wait])
        machine.receive(.paused(2))
        #expect(Self.beginAll(&machine) == [.pause(3), .wait])
        machine.receive(.paused(3))
        #expect(machine.next() == .paused)
    }

    @Test("a limit of 1 is one host after another, as without the key")
    func limitOne() {
        var machine = Self.remote(3, limit: 1)
        #expect(Self.beginAll(&machine) == [.pause(0), .wait])
        machine.receive(.paused(0))
        #expect(Self.beginAll(&machine) == [.pause(1), .wait])
    }
}
