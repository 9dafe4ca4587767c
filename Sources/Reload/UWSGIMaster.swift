import FoundationEssentials
import Processes
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Which app server a master runs: how its master is recognised, and when a new worker serves.
package enum AppServerKind: String, Sendable, Equatable {
    case uwsgi = "uWSGI"
    case gunicorn

    /// What the master's command line holds.
    var marker: String { self == .uwsgi ? "uwsgi" : "gunicorn" }
}

/// A running app server master process (uWSGI's or gunicorn's) and its workers, as `/proc` shows them.
package struct UWSGIMaster: Sendable, Equatable {
    /// The master.
    package let process: ProcessEntry
    /// Which app server it is.
    package var kind: AppServerKind = .uwsgi

    /// The master named by a pidfile.
    ///
    /// - Throws: when the pidfile is missing or unreadable, names no running process (stale),
    ///   or names a process that is not a uWSGI master.
    package static func fromPidfile(_ path: String, kind: AppServerKind = .uwsgi) throws(OperatorError) -> UWSGIMaster {
        guard FileManager.default.fileExists(atPath: path) else {
            let option = kind == .uwsgi ? "--pidfile" : "--pid"
            throw OperatorError(
                .reload,
                "the pidfile \(path) does not exist",
                hint: "is \(kind.rawValue) running with \(option) \(path)?"
            )
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw OperatorError(.reload, "cannot read the pidfile \(path)")
        }
        guard let pid = Int32(text.trimmedOfWhitespace), pid > 0 else {
            throw OperatorError(.reload, "the pidfile \(path) does not hold a pid")
        }
        guard let process = ProcFileSystem.entry(for: pid) else {
            throw OperatorError(.reload, "stale pidfile \(path): no process \(pid) is running")
        }
        return try master(process, named: "pid \(pid) (from \(path))", kind: kind)
    }

    /// The master reading the master FIFO `path`: the process that holds it open.
    ///
    /// - Throws: when `path` is missing or not a FIFO.
    package static func readingFIFO(_ path: String) throws(OperatorError) -> UWSGIMaster? {
        try checkFIFO(path)
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        let table = ProcFileSystem.snapshot()
        for entry in table.entries.values.sorted(by: { $0.pid < $1.pid }) {
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(entry.pid)/fd")) ?? []
            for descriptor in descriptors {
                let link =
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry.pid)/fd/\(descriptor)"))
                if link == target, entry.commandLine.contains("uwsgi") {
                    // The FIFO is opened by the master; workers inherit nothing of it, but be sure.
                    return try master(
                        table.entries[entry.parentPID].flatMap { isMaster($0, of: entry) ? $0 : nil } ?? entry,
                        named: "pid \(entry.pid)"
                    )
                }
            }
        }
        return nil
    }

    /// Fails unless `path` exists and is a FIFO.
    package static func checkFIFO(_ path: String) throws(OperatorError) {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw OperatorError(
                .reload,
                "the master FIFO \(path) does not exist",
                hint: "is uWSGI running with --master-fifo \(path)?"
            )
        }
        guard status.st_mode & S_IFMT == S_IFIFO else {
            throw OperatorError(.reload, "\(path) is not a FIFO", hint: "--uwsgi-fifo takes uWSGI's --master-fifo path")
        }
    }

    /// The master's worker processes (its children) right now.
    package func workers() -> [ProcessEntry] {
        ProcFileSystem.snapshot().children(of: process.pid)
    }

    /// Whether the master still runs (the same process: a re-exec keeps pid and start time).
    package var isRunning: Bool { process.identity.isRunning }

    private static func isMaster(_ candidate: ProcessEntry, of child: ProcessEntry) -> Bool {
        candidate.commandLine == child.commandLine
    }

    private static func master(
        _ process: ProcessEntry,
        named name: String,
        kind: AppServerKind = .uwsgi
    ) throws(OperatorError) -> UWSGIMaster {
        guard process.commandLine.contains(kind.marker) else {
            throw OperatorError(
                .reload,
                "\(name) is not a \(kind.rawValue) master: it runs '\(Redaction.redact(String(process.commandLine.prefix(80))))'",
                hint: "the pidfile may be stale, and its pid reused"
            )
        }
        let table = ProcFileSystem.snapshot()
        if let master = workerOf(process, in: table, kind: kind) {
            throw OperatorError(
                .reload,
                "\(name) is a \(kind.rawValue) worker, not its master: the master is pid \(master.pid)",
                hint: "the pidfile must name the master (\(kind == .uwsgi ? "uWSGI's --pidfile" : "gunicorn's --pid"));"
                    + " a worker signalled is lost, not reloaded"
            )
        }
        return UWSGIMaster(process: process, kind: kind)
    }

    /// The master of `process` when `process` is one of its workers, else `nil`. A worker is a child of a process of
    /// the same app server and has no children of that app server itself. A master is not: its parent is init, a
    /// supervisor, a shell, or (uWSGI's emperor, gunicorn's re-exec on USR2) another master, and then it has workers
    /// of its own. (A master whose workers have all gone, under another master, would read as a worker: then the
    /// reload is refused, never sent to the wrong process.)
    package static func workerOf(_ process: ProcessEntry, in table: ProcessTable, kind: AppServerKind) -> ProcessEntry?
    {
        guard let parent = table.entries[process.parentPID], parent.pid > 1, parent.commandLine.contains(kind.marker)
        else { return nil }
        let hasWorkers = table.children(of: process.pid).contains { $0.commandLine.contains(kind.marker) }
        return hasWorkers ? nil : parent
    }

    /// Whether `worker`, a new worker of this master's, serves requests yet: a uWSGI worker once it runs (the
    /// master forks it ready, the application loaded); a gunicorn worker once its heartbeat has beaten.
    func serves(_ worker: ProcessEntry) -> Bool {
        kind == .uwsgi || GunicornHeartbeat.hasBeaten(worker)
    }
}
