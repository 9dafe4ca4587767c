import FoundationEssentials
import Logging
import Processes
import Subprocess
import SystemPackage
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A graceful app server reload (uWSGI's, or gunicorn's) that returns only when it is done: the master's old
/// workers have exited and new ones serve.
package struct UWSGIReload: Sendable {
    /// How to ask for the reload.
    package enum Strategy: Sendable, Equatable, Codable {
        /// Write `r` to the master FIFO (`--master-fifo`).
        case fifo(path: String)
        /// SIGHUP to the master named by the pidfile.
        case pidfile(path: String)
        /// Run a command (such as `service uwsgi reload`); with a pidfile, then wait as for the pidfile.
        case command(arguments: [String], pidfile: String?)
        /// SIGHUP to the gunicorn master named by the pidfile (gunicorn's `--pid`); done once its new workers'
        /// heartbeats beat.
        case gunicornPidfile(path: String)

        /// The app server it reloads, as the log and the report name it.
        package var appServer: String {
            if case .gunicornPidfile = self { return AppServerKind.gunicorn.rawValue }
            return AppServerKind.uwsgi.rawValue
        }
    }

    /// What a completed reload did.
    package struct Outcome: Sendable {
        /// The master, when known (FIFO, pidfile, or a command with a pidfile).
        package let master: ProcessEntry?
        /// Its workers before.
        package let oldWorkers: [ProcessEntry]
        /// Its workers after.
        package let newWorkers: [ProcessEntry]
        /// From the request to completion.
        package let seconds: Double
        /// Which app server was reloaded.
        package var kind: AppServerKind = .uwsgi
    }

    package let strategy: Strategy
    package let timeout: Duration
    /// How often to look at the processes while waiting.
    package var pollInterval: Duration = .milliseconds(50)
    private let logger: Logger

    /// Creates a reload.
    package init(strategy: Strategy, timeout: Duration = .seconds(120), logger: Logger) {
        self.strategy = strategy
        self.timeout = timeout
        self.logger = logger
    }

    /// Checks that the reload can be asked for (the FIFO has a reader, the pidfile names a master,
    /// the command exists); changes nothing.
    package func preflight() async throws(OperatorError) -> UWSGIMaster? {
        switch strategy {
        case .fifo(let path):
            guard let master = try UWSGIMaster.readingFIFO(path) else {
                throw OperatorError(
                    .reload,
                    "no uWSGI master is reading the FIFO \(path)",
                    hint: "is uWSGI running with --master-fifo \(path)?"
                )
            }
            return master
        case .pidfile(let path):
            return try UWSGIMaster.fromPidfile(path)
        case .gunicornPidfile(let path):
            let master = try UWSGIMaster.fromPidfile(path, kind: .gunicorn)
            // A new worker serves once its heartbeat beats, read from its descriptors: unreadable, the reload could
            // never tell, and would wait out --timeout.
            guard GunicornHeartbeat.canRead(master.process.pid) else {
                throw OperatorError(
                    .reload,
                    "cannot read the descriptors of gunicorn's master \(master.process.pid) (/proc/\(master.process.pid)/fd),"
                        + " so a new worker's heartbeat cannot be seen",
                    hint: "run pgwarden reload as the user gunicorn runs as, or as root"
                )
            }
            return master
        case .command(let arguments, let pidfile):
            guard let program = arguments.first else { throw OperatorError(.reload, "the reload command is empty") }
            if !program.contains("/"), (try? await Executable.name(program).resolveExecutablePath(in: .inherit)) == nil
            {
                throw OperatorError(.reload, "command not found: \(program)")
            }
            if program.contains("/"), access(program, X_OK) != 0 {
                throw OperatorError(.reload, "the reload command \(program) is not an executable file")
            }
            return try pidfile.map { path throws(OperatorError) in try UWSGIMaster.fromPidfile(path) }
        }
    }

    /// Asks for the reload and waits until it has completed.
    package func run() async throws(OperatorError) -> Outcome {
        let clock = ContinuousClock()
        let master = try await preflight()
        let oldWorkers = master?.workers() ?? []
        let start = clock.now
        try await request(master: master)
        FailPoint.hit("reload.requested")
        guard let master else {
            return Outcome(master: nil, oldWorkers: [], newWorkers: [], seconds: (clock.now - start).seconds)
        }
        let deadline = start.advanced(by: timeout)
        while true {
            guard master.isRunning else {
                throw OperatorError(
                    .reload,
                    "the \(master.kind.rawValue) master \(master.process.pid) exited during the reload"
                )
            }
            let remaining = oldWorkers.filter(\.identity.isRunning)
            let current = master.workers()
            let fresh = current.filter { worker in
                !oldWorkers.contains { $0.pid == worker.pid && $0.startTime == worker.startTime }
                    && master.serves(worker)
            }
            if remaining.isEmpty, fresh.count >= max(oldWorkers.count, 1) {
                let seconds = (clock.now - start).seconds
                logger.info("reload complete", metadata: ["master": "\(master.process.pid)", "seconds": "\(seconds)"])
                return Outcome(
                    master: master.process,
                    oldWorkers: oldWorkers,
                    newWorkers: fresh,
                    seconds: seconds,
                    kind: master.kind
                )
            }
            guard clock.now < deadline else {
                let still = remaining.map { "pid \($0.pid)" }.joined(separator: ", ")
                throw OperatorError(
                    .reload,
                    "the reload did not complete within \(timeout): "
                        + (remaining.isEmpty
                            ? "\(fresh.count) of \(oldWorkers.count) new workers serving"
                            : "old workers still running: \(still)"),
                    hint: "a long request delays a graceful reload; see "
                        + (master.kind == .uwsgi ? "uWSGI's worker-reload-mercy" : "gunicorn's --graceful-timeout")
                )
            }
            guard !Task.isCancelled else { throw OperatorError(.reload, "the wait for the reload was interrupted") }
            try? await Task.sleep(for: pollInterval)
        }
    }

    private func request(master: UWSGIMaster?) async throws(OperatorError) {
        switch strategy {
        case .fifo(let path):
            let descriptor = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ENXIO {
                    throw OperatorError(
                        .reload,
                        "no uWSGI master is reading the FIFO \(path)",
                        hint: "is uWSGI running with --master-fifo \(path)?"
                    )
                }
                throw OperatorError(.reload, "cannot open the FIFO \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            guard write(descriptor, "r", 1) == 1 else {
                throw OperatorError(.reload, "cannot write to the FIFO \(path): \(String(cString: strerror(errno)))")
            }
        case .pidfile, .gunicornPidfile:
            guard let master else { return }
            guard kill(master.process.pid, SIGHUP) == 0 else {
                throw OperatorError(
                    .reload,
                    "cannot signal the \(master.kind.rawValue) master \(master.process.pid): \(String(cString: strerror(errno)))"
                )
            }
        case .command(let arguments, _):
            let status: TerminationStatus
            let complaint: String
            do {
                let result = try await Subprocess.run(
                    arguments[0].contains("/") ? .path(FilePath(arguments[0])) : .name(arguments[0]),
                    arguments: Arguments(Array(arguments.dropFirst())),
                    platformOptions: .ownProcessGroup,
                    output: .discarded,
                    error: .string(limit: 1 << 20)
                )
                status = result.terminationStatus
                complaint = result.standardError.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
            } catch {
                throw OperatorError(.reload, "cannot run \(arguments[0]): \(error)")
            }
            guard case .exited(0) = status else {
                throw OperatorError(
                    .reload,
                    "the reload command failed (\(status))" + (complaint.isEmpty ? "" : ": \(complaint)")
                )
            }
        }
        logger.info("reload requested", metadata: ["strategy": "\(strategy)"])
    }

}
