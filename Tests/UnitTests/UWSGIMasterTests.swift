import Processes
import Reload
import Testing

/// Telling a master from one of its workers, on the process table alone.
@Suite("App server master or worker")
struct UWSGIMasterTests {
    static func process(_ pid: Int32, parent: Int32, _ command: String) -> ProcessEntry {
        ProcessEntry(pid: pid, parentPID: parent, uid: 1000, startTime: UInt64(pid), commandLine: command)
    }

    static let gunicorn = "/usr/bin/python3 /usr/bin/gunicorn --pid /run/app.pid app:app"
    static let uwsgi = "uwsgi --master --processes 2 --pidfile /run/uwsgi.pid"

    @Test("a gunicorn worker is told from its master; the master under init or a shell is a master")
    func gunicornWorker() {
        let table = ProcessTable([
            Self.process(1, parent: 0, "/sbin/init"),
            Self.process(50, parent: 1, "sh -c gunicorn"),
            Self.process(100, parent: 50, Self.gunicorn),
            Self.process(101, parent: 100, Self.gunicorn),
            Self.process(102, parent: 100, Self.gunicorn),
        ])
        #expect(UWSGIMaster.workerOf(table.entries[101]!, in: table, kind: .gunicorn)?.pid == 100)
        #expect(UWSGIMaster.workerOf(table.entries[100]!, in: table, kind: .gunicorn) == nil)
    }

    @Test("a master under another master with workers of its own (gunicorn's USR2 re-exec, uWSGI's emperor) is one")
    func masterUnderMaster() {
        let table = ProcessTable([
            Self.process(1, parent: 0, "/sbin/init"),
            Self.process(10, parent: 1, "uwsgi --emperor /etc/uwsgi/vassals"),
            Self.process(20, parent: 10, Self.uwsgi),
            Self.process(21, parent: 20, Self.uwsgi),
            Self.process(100, parent: 1, Self.gunicorn),
            Self.process(200, parent: 100, Self.gunicorn),
            Self.process(201, parent: 200, Self.gunicorn),
        ])
        #expect(UWSGIMaster.workerOf(table.entries[20]!, in: table, kind: .uwsgi) == nil)
        #expect(UWSGIMaster.workerOf(table.entries[21]!, in: table, kind: .uwsgi)?.pid == 20)
        #expect(UWSGIMaster.workerOf(table.entries[200]!, in: table, kind: .gunicorn) == nil)
        #expect(UWSGIMaster.workerOf(table.entries[201]!, in: table, kind: .gunicorn)?.pid == 200)
    }

    @Test("a process directly under init, or whose parent is not the app server, is never taken for a worker")
    func notAWorker() {
        let table = ProcessTable([
            Self.process(1, parent: 0, "/sbin/init gunicorn-ish"),
            Self.process(100, parent: 1, Self.gunicorn),
            Self.process(300, parent: 299, Self.gunicorn),
        ])
        #expect(UWSGIMaster.workerOf(table.entries[100]!, in: table, kind: .gunicorn) == nil)
        #expect(UWSGIMaster.workerOf(table.entries[300]!, in: table, kind: .gunicorn) == nil)
    }
}
