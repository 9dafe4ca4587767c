import Testing

@testable import Supervisor

/// The run's transitions, without processes: every ending, every path to resume, the retry rule.
@Suite("The upgrade run as a state machine")
struct RunMachineTests {
    typealias Action = RunMachine.Action
    static let full = RunMachine.Plan(pausesWorkers: true, reloadBefore: true, preflightActions: true)

    /// Drives the machine, answering each action from `answers` (in order), until it finishes;
    /// returns every action it asked for, the last one `finish`.
    static func drive(
        _ plan: RunMachine.Plan,
        _ answers: [Action: RunMachine.Event] = [:],
        attempts: [AttemptResult] = [AttemptResult(status: 0)],
        signalAfter: Action? = nil
    ) -> [Action] {
        var machine = RunMachine(plan: plan)
        var actions: [Action] = []
        var attemptResults = attempts[...]
        while actions.count < 50 {
            let action = machine.next()
            actions.append(action)
            let event: RunMachine.Event
            switch action {
            case .finish: return actions
            case .pauseWorkers: event = answers[action] ?? .paused
            case .reload(let time): event = answers[action] ?? .reloaded(time)
            case .carryOutPreflight: event = .preflightCarriedOut
            case .runAttempt: event = .attemptEnded(attemptResults.popFirst() ?? AttemptResult(status: 0))
            case .waitBeforeRetry: event = .retryWaitEnded
            case .skipReloadAfter: event = .reloadAfterSkipped
            case .resumeWorkers: event = answers[action] ?? .resumed
            case .postChecks: event = .checked
            }
            machine.receive(event)
            if action == signalAfter { machine.receive(.interrupted(signal: 15)) }
        }
        Issue.record("the machine never finished: \(actions)")
        return actions
    }

    static func conclusion(_ actions: [Action]) -> RunConclusion? {
        if case .finish(let conclusion) = actions.last { return conclusion }
        return nil
    }

    @Test("a full run: pause, reload, preflight, command, resume, checks; succeeded, 0")
    func succeeded() {
        let actions = Self.drive(Self.full)
        #expect(
            Array(actions.dropLast())
                == [.pauseWorkers, .reload(.before), .carryOutPreflight, .runAttempt(1), .resumeWorkers, .postChecks]
        )
        #expect(Self.conclusion(actions)?.outcome == .succeeded)
        #expect(Self.conclusion(actions)?.exitStatus == 0)
    }

    @Test("the command's own failure: failed, its own status; the workers resumed")
    func commandFailed() {
        let actions = Self.drive(Self.full, attempts: [AttemptResult(status: 3)])
        #expect(actions.contains(.resumeWorkers))
        #expect(Self.conclusion(actions)?.outcome == .failed)
        #expect(Self.conclusion(actions)?.exitStatus == 3)
    }

    @Test("a --max-lock-wait cancel the command swallowed (exit 0) is aborted, 75, never succeeded")
    func maxLockWaitSwallowed() {
        let actions = Self.drive(Self.full, attempts: [AttemptResult(status: 0, stoppedBy: .maxLockWait)])
        #expect(Self.conclusion(actions)?.ending == .abortedOverLockWait(.maxLockWait, status: 0))
        #expect(Self.conclusion(actions)?.outcome == .aborted)
        #expect(Self.conclusion(actions)?.exitStatus == 75)
    }

    @Test("a wait that ended ungranted under --lock-timeout, command failed: aborted by lock timeout, 75")
    func lockTimeout() {
        let plan = RunMachine.Plan(lockTimeout: true)
        let actions = Self.drive(plan, attempts: [AttemptResult(status: 1, waitEndedUngranted: true)])
        #expect(Self.conclusion(actions)?.ending == .abortedOverLockWait(.lockTimeout, status: 1))
        #expect(Self.conclusion(actions)?.exitStatus == 75)
    }

    @Test("a wait cancelled by someone else that the command swallowed is aborted, not succeeded")
    func cancelledElsewhere() {
        let actions = Self.drive(RunMachine.Plan(), attempts: [AttemptResult(status: 0, waitEndedUngranted: true)])
        #expect(Self.conclusion(actions)?.ending == .abortedOverLockWait(.elsewhere, status: 0))
        #expect(Self.conclusion(actions)?.outcome == .aborted)
    }

    @Test("the retry rule: a lock timeout is retried while retries remain, then ends the run")
    func retries() {
        let timedOut = AttemptResult(status: 1, waitEndedUngranted: true)
        let plan = RunMachine.Plan(retries: 2, lockTimeout: true)
        let retried = Self.drive(plan, attempts: [timedOut, AttemptResult(status: 0)])
        #expect(Array(retried.dropLast()) == [.runAttempt(1), .waitBeforeRetry, .runAttempt(2), .postChecks])
        #expect(Self.conclusion(retried)?.outcome == .succeeded)
        let exhausted = Self.drive(plan, attempts: [timedOut, timedOut, timedOut])
        #expect(exhausted.filter { if case .runAttempt = $0 { true } else { false } }.count == 3)
        #expect(Self.conclusion(exhausted)?.exitStatus == 75)
    }

    @Test("a command failure or a swallowed cancel is not retried")
    func notRetried() {
        let plan = RunMachine.Plan(retries: 3, lockTimeout: true)
        #expect(!Self.drive(plan, attempts: [AttemptResult(status: 2)]).contains(.waitBeforeRetry))
        #expect(
            !Self.drive(plan, attempts: [AttemptResult(status: 0, stoppedBy: .maxLockWait)]).contains(.waitBeforeRetry)
        )
        #expect(
            !Self.drive(plan, attempts: [AttemptResult(status: 1, stoppedBy: .operatorRequest)]).contains(
                .waitBeforeRetry
            )
        )
    }

    @Test("a pause that fails: the command never runs, the workers are resumed all the same, 70")
    func pauseFailed() {
        let actions = Self.drive(Self.full, [.pauseWorkers: .pauseFailed("no such user")])
        #expect(!actions.contains(.runAttempt(1)))
        #expect(actions.contains(.resumeWorkers))
        #expect(Self.conclusion(actions)?.ending == .notRun(step: "pause workers"))
        #expect(Self.conclusion(actions)?.exitStatus == 70)
    }

    @Test("a reload before that fails: the command never runs, the workers come back, 70")
    func reloadBeforeFailed() {
        let actions = Self.drive(Self.full, [.reload(.before): .reloadFailed(.before, "timeout")])
        #expect(!actions.contains(.runAttempt(1)))
        #expect(actions.contains(.resumeWorkers))
        #expect(Self.conclusion(actions)?.exitStatus == 70)
    }

    @Test("reload after: only after a success; skipped (and said) after a failure")
    func reloadAfter() {
        let plan = RunMachine.Plan(pausesWorkers: true, reloadAfter: true)
        #expect(Self.drive(plan).contains(.reload(.after)))
        let failed = Self.drive(plan, attempts: [AttemptResult(status: 1)])
        #expect(!failed.contains(.reload(.after)))
        #expect(failed.contains { if case .skipReloadAfter = $0 { true } else { false } })
        #expect(failed.contains(.resumeWorkers))
    }

    @Test("a signal at any step before resume: straight to resume, then checks; interrupted, 128+N")
    func interrupted() {
        for step in [Action.pauseWorkers, .reload(.before), .carryOutPreflight, .runAttempt(1)] {
            let actions = Self.drive(Self.full, signalAfter: step)
            let after = actions.drop { $0 != step }.dropFirst()
            #expect(Array(after.dropLast()) == [.resumeWorkers, .postChecks], "after \(step)")
            #expect(Self.conclusion(actions)?.outcome == .interrupted)
            #expect(Self.conclusion(actions)?.exitStatus == 143)
        }
    }

    @Test("a signal before the first action (during preflight or the forecast): nothing paused, nothing run")
    func interruptedBeforeAnything() {
        for plan in [Self.full, RunMachine.Plan(pausesWorkers: false, reloadBefore: false, preflightActions: false)] {
            var machine = RunMachine(plan: plan)
            machine.receive(.interrupted(signal: 2))
            let action = machine.next()
            guard case .finish(let conclusion) = action else {
                Issue.record("asked for \(action) after an interrupt before anything")
                continue
            }
            #expect(conclusion.outcome == .interrupted && conclusion.exitStatus == 130)
        }
    }

    @Test("a signal during the retry delay ends the run without another attempt")
    func interruptedRetry() {
        let plan = RunMachine.Plan(retries: 2, lockTimeout: true)
        let actions = Self.drive(
            plan,
            attempts: [AttemptResult(status: 1, waitEndedUngranted: true)],
            signalAfter: .waitBeforeRetry
        )
        #expect(!actions.contains(.runAttempt(2)))
        #expect(Self.conclusion(actions)?.outcome == .interrupted)
    }

    @Test("the run's own state lost, or the workers not resumed, is never succeeded: supervisor-failed, 70")
    func supervisorFailures() {
        var machine = RunMachine(plan: RunMachine.Plan(pausesWorkers: true))
        machine.receive(.paused)
        machine.receive(.stateLost("the state directory was removed"))
        machine.receive(.attemptEnded(AttemptResult(status: 0)))
        machine.receive(.resumed)
        machine.receive(.checked)
        guard case .finish(let conclusion) = machine.next() else {
            Issue.record("not finished")
            return
        }
        #expect(conclusion.outcome == .supervisorFailed)
        #expect(conclusion.exitStatus == 70)
        let unresumed = Self.drive(RunMachine.Plan(pausesWorkers: true), [.resumeWorkers: .resumeFailed("crontab")])
        #expect(Self.conclusion(unresumed)?.exitStatus == 70)
        #expect(Self.conclusion(unresumed)?.supervisorFailures == ["crontab"])
    }

    @Test("a session that outlived the command: supervisor-failed, 70, the warning kept")
    func outlived() {
        let actions = Self.drive(
            RunMachine.Plan(),
            attempts: [AttemptResult(status: 0, outlived: ["pid 9 held a lock"])]
        )
        #expect(Self.conclusion(actions)?.outcome == .supervisorFailed)
        #expect(Self.conclusion(actions)?.supervisorFailures == ["pid 9 held a lock"])
    }

    @Test("every path that may have paused workers resumes them exactly once")
    func resumeOnEveryPath() {
        let plans = [Self.full, RunMachine.Plan(pausesWorkers: true, reloadAfter: true, retries: 1, lockTimeout: true)]
        let results = [
            AttemptResult(status: 0), AttemptResult(status: 1), AttemptResult(status: 1, waitEndedUngranted: true),
            AttemptResult(status: 0, stoppedBy: .operatorRequest),
        ]
        for plan in plans {
            for result in results {
                for signal in [nil, Action.pauseWorkers, .runAttempt(1)] {
                    let actions = Self.drive(plan, attempts: [result, result], signalAfter: signal)
                    #expect(actions.filter { $0 == .resumeWorkers }.count == 1)
                    #expect(actions.last.map { if case .finish = $0 { true } else { false } } == true)
                }
            }
        }
    }
}
