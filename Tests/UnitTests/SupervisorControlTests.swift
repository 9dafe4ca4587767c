import Testing
import Workers

/// `supervisorctl status` read, and a set's program names resolved against it.
@Suite("supervisorctl's listing")
struct SupervisorControlTests {
    static let listing = [
        "app-worker:app-worker_00         RUNNING   pid 101, uptime 0:00:05",
        "app-worker:app-worker_01         STOPPED   Dec 07 01:00 PM",
        "report                           STARTING  ",
        "unix:///tmp/x.sock no such file",
    ]

    @Test("each program and its state; other lines ignored")
    func parse() {
        #expect(
            SupervisorControl.parseStatus(Self.listing).map { "\($0.name) \($0.state)" } == [
                "app-worker:app-worker_00 RUNNING", "app-worker:app-worker_01 STOPPED", "report STARTING",
            ]
        )
    }

    @Test("group:*, a group by its name, a program; one unknown name is an error")
    func resolve() throws {
        let programs = SupervisorControl.parseStatus(Self.listing)
        #expect(try SupervisorControl.resolve(["app-worker:*"], in: programs).count == 2)
        #expect(try SupervisorControl.resolve(["app-worker", "report"], in: programs).count == 3)
        #expect(try SupervisorControl.resolve(["app-worker:app-worker_01"], in: programs).map(\.state) == ["STOPPED"])
        #expect(throws: (any Error).self) { try SupervisorControl.resolve(["report", "nope"], in: programs) }
    }

    @Test(
        "names",
        arguments: [
            ("app", true), ("g:*", true), ("g:n", true), ("a b", false), ("-c", false), ("a:b:c", false), ("", false),
        ]
    )
    func names(name: String, valid: Bool) {
        #expect(SupervisorControl.isValidName(name) == valid)
    }
}
