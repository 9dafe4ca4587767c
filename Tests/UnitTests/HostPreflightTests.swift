import Reload
import Supervisor
import Testing
import WardenSupport
import Workers

/// The one-call preflight of other hosts: what each host is asked, how its answer is checked, two names of one host.
@Suite("Preflight of hosts")
struct HostPreflightTests {
    static let crontab = WorkerSetSpec.crontab(CrontabSetSpec(user: "app", match: ["app-cli"]))
    static let gunicorn = UWSGIReload.Strategy.gunicornPidfile(path: "/run/gunicorn/app.pid")

    @Test(
        "each host gets one request with all its sets and app servers, in order; local entries and the skipped set are left out"
    )
    func plan() {
        let plan = HostPreflight.Plan(
            sets: [(Self.crontab, nil), (Self.crontab, "web1"), (Self.crontab, "worker1"), (Self.crontab, "web1")],
            appServers: [(Self.gunicorn, "web1"), (Self.gunicorn, nil)],
            skipping: 0
        )
        #expect(plan.hosts == ["web1", "worker1"])
        #expect(
            plan.requests["web1"]
                == HostPreflight.Request(sets: [Self.crontab, Self.crontab], appServers: [Self.gunicorn])
        )
        #expect(plan.requests["worker1"] == HostPreflight.Request(sets: [Self.crontab]))
        #expect(plan.sets[1] == .init(host: "web1", index: 0))
        #expect(plan.sets[3] == .init(host: "web1", index: 1))
        #expect(plan.sets[2] == .init(host: "worker1", index: 0))
        #expect(plan.sets[0] == nil)
        #expect(plan.appServers[0] == .init(host: "web1", index: 0))
        #expect(plan.appServers[1] == nil)
    }

    @Test("the answer's line round-trips; the last one wins; other lines are ignored")
    func answerLine() {
        let answer = HostPreflight.Answer(
            version: "0.1.0",
            identity: "abc/2049:77",
            sets: [.init(said: ["pause 1 crontab line(s) of app"])],
            appServers: [.init(error: "the pidfile /run/x.pid does not exist")]
        )
        #expect(HostPreflight.Answer.find(in: ["hello", answer.line, "bye"]) == answer)
        #expect(HostPreflight.Answer.find(in: ["pgwarden-preflight {not json"]) == nil)
        #expect(!answer.line.contains("\n"))
    }

    @Test("another minor version is refused naming the host and both versions; a patch version is not")
    func version() throws {
        let request = HostPreflight.Request(sets: [Self.crontab])
        var answer = HostPreflight.Answer(version: "0.2.0", identity: "", sets: [.init()], appServers: [])
        #expect {
            try HostPreflight.check(answer, to: request, host: "web1", localVersion: "0.1.0")
        } throws: { error in
            (error as? WorkersError)?.summary
                == "web1 runs pgwarden 0.2.0, this one is 0.1.0: the same minor version is needed"
        }
        answer.version = "0.1.7"
        try HostPreflight.check(answer, to: request, host: "web1", localVersion: "0.1.0")
        answer.sets = []
        #expect(throws: WorkersError.self) {
            try HostPreflight.check(answer, to: request, host: "web1", localVersion: "0.1.0")
        }
    }

    @Test("two names with one identity are refused naming both entries; one name twice, or no identity, is not")
    func sameHost() {
        let named = { (entry: String, host: String, identity: String) in
            HostPreflight.Named(entry: entry, host: host, identity: identity)
        }
        let problem = HostPreflight.sameHost([
            named("workers[1] (crontab of app)", "web1", "m/1:2"),
            named("workers[2] (crontab of ops)", "web1", "m/1:2"),
            named("workers[3] (crontab of app)", "worker1", "m/1:3"),
            named("app server gunicorn", "10.0.0.5", "m/1:2"),
        ])
        #expect(
            problem
                == "workers[1] (crontab of app) (host = \"web1\") and app server gunicorn (host = \"10.0.0.5\") reach the same host"
                + " (the same machine and pgwarden state directory): give it one name in every entry"
        )
        #expect(HostPreflight.sameHost([named("a", "web1", "m/1"), named("b", "web1", "m/1")]) == nil)
        #expect(HostPreflight.sameHost([named("a", "web1", ""), named("b", "web2", "")]) == nil)
    }

    @Test("a request over 64 KiB goes in parts, in order, each under the limit; the answers join back in order")
    func parts() throws {
        let sets = (1...600).map {
            WorkerSetSpec.crontab(
                CrontabSetSpec(user: "app", match: ["app-cli-\($0)-" + String(repeating: "x", count: 200)])
            )
        }
        let request = HostPreflight.Request(sets: sets, appServers: [Self.gunicorn])
        let parts = HostPreflight.parts(of: request)
        #expect(parts.count > 1)
        #expect(parts.flatMap(\.sets) == sets)
        #expect(parts.flatMap(\.appServers) == [Self.gunicorn])
        for part in parts { #expect(try JournalCoding.encode(part).count <= HostPreflight.requestLimit) }
        #expect(
            HostPreflight.parts(of: HostPreflight.Request(sets: [Self.crontab])) == [
                HostPreflight.Request(sets: [Self.crontab])
            ]
        )
        #expect(HostPreflight.parts(of: HostPreflight.Request()) == [HostPreflight.Request()])

        let answers = parts.enumerated().map { index, part in
            HostPreflight.Answer(
                version: "0.1.0",
                identity: "id",
                sets: part.sets.map { _ in .init(said: ["part \(index)"]) },
                appServers: part.appServers.map { _ in .init(error: "no pidfile") }
            )
        }
        let joined = try #require(HostPreflight.joined(answers))
        #expect(joined.sets.count == 600 && joined.appServers == [.init(error: "no pidfile")])
        #expect(joined.sets.first?.said == ["part 0"] && joined.sets.last?.said == ["part \(parts.count - 1)"])
    }
}
