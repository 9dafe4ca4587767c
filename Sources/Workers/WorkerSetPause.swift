import FoundationEssentials
import Logging
import WardenSupport

/// Pauses and resumes one worker set in a directory of its own (`<state dir>/sets/NN-kind`), journaled
/// before each change: a crontab set through ``WorkerPause``, a supervisor set through `supervisorctl`,
/// a command set through its argv arrays.
package struct WorkerSetPause: Sendable {
    package let directory: StateDirectory
    let logger: Logger
    /// Lines for the run log: what was done, a command's output (the log sanitises them).
    package typealias Said = [String]

    package init(directory: StateDirectory, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// The directory of set `index` (0-based) of kind `kind` under the state directory `base`.
    package static func directory(under base: StateDirectory, index: Int, kind: String) -> StateDirectory {
        let number = index + 1 < 10 ? "0\(index + 1)" : "\(index + 1)"
        return StateDirectory(path: base.path + "/sets/\(number)-\(kind)")
    }

    /// The set directories under `base`, in order (their names sort as the sets do); none when there is no `sets`
    /// folder. A folder that cannot be read throws: `recover` must not take it for "nothing paused".
    package static func directories(under base: StateDirectory) throws -> [StateDirectory] {
        let path = base.path + "/sets"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw WorkersError(.stateDirectory, "cannot read \(path): \(error)")
        }
        return names.sorted().filter { $0.first?.isNumber == true }.map {
            StateDirectory(path: base.path + "/sets/" + $0)
        }
    }

    /// The names of the set directories under `base` whose pause is in force (`01-supervisor`, a remote pause's id):
    /// what `workers resume` and `workers status` name, since only `recover` resumes them.
    package static func pausedSetNames(under base: StateDirectory) throws -> [String] {
        try directories(under: base).filter { directory in
            [PauseRecord.fileName, SetPauseRecord.fileName].contains {
                FileManager.default.fileExists(atPath: directory.path + "/" + $0)
            }
        }.map { String($0.path.split(separator: "/").last ?? "") }
    }

    /// Pauses the set; throws naming why (the set may then be partly paused: resume it all the same).
    package func pause(_ spec: WorkerSetSpec, owner: String) async throws -> Said {
        do {
            try directory.prepare()
        } catch {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        }
        switch spec {
        case .crontab(let set):
            let outcome = try await WorkerPause(stateDirectory: directory, logger: logger).pause(
                user: try set.user ?? UserAccount.current().name,
                patterns: try set.match.map(WorkerPattern.init),
                stop: set.stop,
                scope: set.scope,
                grace: set.grace,
                owner: owner
            )
            return ["paused \(outcome.record.pausedLines.count) crontab line(s) of \(outcome.record.user)"]
                + outcome.stopped.map { "  worker pid \($0.process.pid) \($0.outcome.description)" }
        case .supervisor, .command:
            let lock = try lock()
            defer { lock.release() }
            if let existing = try SetPauseRecord.load(SetPauseRecord.fileName, from: directory) {
                throw WorkersError(
                    .alreadyPaused,
                    "\(existing.spec.summary) is already paused (since \(existing.pausedAt.formatted(.iso8601)))"
                )
            }
            var record = SetPauseRecord(spec: spec, phase: .pausing, pausedAt: Date(), owner: owner)
            if case .supervisor(let set) = spec { return try await pauseSupervisor(set, &record) }
            guard case .command(let set) = spec else { return [] }
            try record.save(in: directory)
            FailPoint.hit("sets.pause.journaled")
            var said = try await runStep("pause", set.pause, timeout: set.timeout)
            FailPoint.hit("sets.pause.changed")
            if let check = set.check { said += try await runCheck(check, timeout: set.timeout, paused: true) }
            record.phase = .paused
            try record.save(in: directory)
            return said
        }
    }

    private func pauseSupervisor(_ set: SupervisorSetSpec, _ record: inout SetPauseRecord) async throws -> Said {
        let control = SupervisorControl(set)
        let programs = try SupervisorControl.resolve(set.programs, in: try await control.status())
        record.running = programs.filter { ["RUNNING", "STARTING"].contains($0.state) }.map(\.name)
        try record.save(in: directory)
        FailPoint.hit("sets.pause.journaled")
        try await control.change("stop", record.running, wanted: ["STOPPED", "EXITED", "FATAL"])
        FailPoint.hit("sets.pause.changed")
        record.phase = .paused
        try record.save(in: directory)
        return ["stopped \(record.running.count) supervisor program(s): \(record.running.joined(separator: " "))"]
            + programs.filter { !record.running.contains($0.name) }.map { "  \($0.name) was \($0.state): left so" }
    }

    /// What pausing and resuming the set would do, from its current state; changes nothing. Throws when
    /// the set cannot be paused as given (a program supervisord does not know, a crontab line matching nothing).
    package func plan(_ spec: WorkerSetSpec) async throws -> Said {
        switch spec {
        case .crontab(let set):
            let user = try set.user ?? UserAccount.current().name
            let plan = try await WorkerPause(stateDirectory: directory, logger: logger).plan(
                user: user,
                patterns: try set.match.map(WorkerPattern.init)
            )
            return ["pause \(plan.lines.count) crontab line(s) of \(user) (stop \(set.stop.rawValue)):"]
                + plan.lines.map { "  line \($0.number): \(Redaction.redact($0.line))" }
                + plan.runningWorkers.map { "  running: pid \($0.pid): \(Redaction.redact($0.commandLine))" }
        case .supervisor(let set):
            let programs = try SupervisorControl.resolve(set.programs, in: try await SupervisorControl(set).status())
            return programs.map {
                ["RUNNING", "STARTING"].contains($0.state)
                    ? "supervisorctl stop \($0.name) (now \($0.state)), start it again after"
                    : "\($0.name) is \($0.state): left so"
            }
        case .command(let set):
            return ["pause: \(ShellQuoting.command(set.pause.map(Redaction.redact)))"]
                + (set.check.map { ["check (exit 0 while paused): \(ShellQuoting.command($0.map(Redaction.redact)))"] }
                    ?? [])
                + [
                    "resume: \(ShellQuoting.command(set.resume.map(Redaction.redact))) (timeout \(DurationSyntax.format(seconds: set.timeout.seconds)))"
                ]
        }
    }

    /// What a resume did: `nil` when nothing was paused here.
    package func resume(owner: String? = nil) async throws -> Said? {
        var said: Said = []
        var any = false
        switch try await WorkerPause(stateDirectory: directory, logger: logger).resume(ownedBy: owner) {
        case .nothingPaused: break
        case .neverInstalled(let record, _):
            any = true
            said.append("pause \(record.pauseID) of \(record.user) never reached the crontab: nothing to restore")
        case .resumed(let resumed):
            any = true
            said.append(
                "resumed \(resumed.lines.filter { $0.state == .paused }.count) crontab line(s) of \(resumed.record.user)"
                    + (resumed.restoredExactly ? " (byte for byte as before)" : "")
            )
        }
        if let more = try await resumeSet(ownedBy: owner) {
            any = true
            said += more
        }
        return any ? said : nil
    }

    /// With an owner given, only a pause of that owner (a run never resumes another's pause it found there).
    private func resumeSet(ownedBy owner: String?) async throws -> Said? {
        let lock = try lock()
        defer { lock.release() }
        guard var record = try SetPauseRecord.load(SetPauseRecord.fileName, from: directory),
            owner == nil || record.owner == owner
        else { return nil }
        record.phase = .resuming
        try record.save(in: directory)
        FailPoint.hit("sets.resume.journaled")
        var said: Said
        switch record.spec {
        case .supervisor(let set):
            try await SupervisorControl(set).change("start", record.running, wanted: ["RUNNING"])
            said = ["started \(record.running.count) supervisor program(s): \(record.running.joined(separator: " "))"]
        case .command(let set):
            said = try await runStep("resume", set.resume, timeout: set.timeout)
            if let check = set.check { said += try await runCheck(check, timeout: set.timeout, paused: false) }
        case .crontab:
            said = []
        }
        FailPoint.hit("sets.resume.changed")
        record.phase = .resumed
        record.resumedAt = Date()
        try record.save(as: SetPauseRecord.lastFileName, in: directory)
        do {
            try directory.remove(SetPauseRecord.fileName)
        } catch {
            throw WorkersError(.stateDirectory, error.summary, hint: error.hint)
        }
        return said
    }

    /// Runs a command set's `pause` or `resume`; throws with why and its last line when it fails.
    private func runStep(_ name: String, _ argv: [String], timeout: Duration) async throws(WorkersError) -> Said {
        let result = try await BoundedCommand(argv, timeout: timeout).run()
        let said = result.output.map { "\(name): \($0)" }
        guard result.succeeded else {
            let last = result.output.last.map { ": \(Redaction.redact($0))" } ?? ""
            throw WorkersError(
                .commandFailed,
                "its \(name) command \(result.timedOut ? "timed out after \(DurationSyntax.format(seconds: timeout.seconds))" : "failed (\(result.description))")\(last)"
            )
        }
        return said + ["\(name) command succeeded"]
    }

    /// A command set's `check`: exit 0 while paused, else not 0.
    private func runCheck(_ argv: [String], timeout: Duration, paused: Bool) async throws(WorkersError) -> Said {
        let result = try await BoundedCommand(argv, timeout: timeout).run()
        guard !result.timedOut, (result.status == 0) == paused else {
            throw WorkersError(
                .commandFailed,
                "its check says the workers are \(paused ? "not paused" : "still paused") (\(result.description))"
            )
        }
        return ["check: \(paused ? "paused" : "running again")"]
    }

    private func lock() throws(WorkersError) -> StateLock {
        do {
            try directory.prepare()
            return try directory.lock(named: "set.lock")
        } catch {
            throw WorkersError(.busy, error.summary, hint: error.hint)
        }
    }
}
