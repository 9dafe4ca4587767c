import FoundationEssentials
import WardenSupport
import Workers

/// Preflight of the other hosts of a deployment file: each host asked once (``HostPreflight``), up to
/// `parallel_hosts` at once; it is reached, runs a pgwarden of the same minor version, says what pausing each of its
/// sets would do and whether each of its app servers can be reloaded, and which host it is. Changes nothing.
extension Supervisor {
    /// Every host's answer, or why there is none.
    struct HostAnswers: Sendable {
        let plan: HostPreflight.Plan
        var results: [String: Result<HostPreflight.Answer, any Error>] = [:]

        /// Set `index`'s plan on its host (`nil`: the set runs here); throws why it cannot be paused there.
        func setPlan(_ index: Int) throws -> [String]? {
            guard let slot = plan.sets[index] else { return nil }
            let verdict = try verdict(slot) { $0.sets }
            return ["on \(TerminalText.safe(slot.host)) (pgwarden there, through ssh):"]
                + verdict.said.map { "  " + TerminalText.safe($0) }
        }

        /// Whether app server `index` is on another host; throws why it cannot be reloaded there.
        func checkAppServer(_ index: Int) throws -> Bool {
            guard let slot = plan.appServers[index] else { return false }
            _ = try verdict(slot) { $0.appServers }
            return true
        }

        /// The entries on other hosts with the identity their host answered, sets first, for
        /// ``HostPreflight/sameHost(_:)``.
        func named(setName: (Int) -> String, appServerName: (Int) -> String) -> [HostPreflight.Named] {
            let identity = { (host: String) in (try? results[host]?.get())?.identity ?? "" }
            return plan.sets.keys.sorted().map { index in
                let host = plan.sets[index]!.host
                return HostPreflight.Named(entry: setName(index), host: host, identity: identity(host))
            }
                + plan.appServers.keys.sorted().map { index in
                    let host = plan.appServers[index]!.host
                    return HostPreflight.Named(entry: appServerName(index), host: host, identity: identity(host))
                }
        }

        private func verdict(
            _ slot: HostPreflight.Plan.Slot,
            _ list: (HostPreflight.Answer) -> [HostPreflight.Verdict]
        ) throws -> HostPreflight.Verdict {
            let verdict = list(try results[slot.host]!.get())[slot.index]
            if let error = verdict.error {
                throw WorkersError(.remoteHost, "on \(TerminalText.safe(slot.host)): \(TerminalText.safe(error))")
            }
            return verdict
        }
    }

    /// Asks every host of the deployment file its preflight, once each, up to `parallel_hosts` at once.
    func preflightHosts() async -> HostAnswers {
        let plan = HostPreflight.Plan(
            sets: settings.effectiveWorkerSets.enumerated().map { ($1, settings.fleet.host(ofSet: $0)) },
            appServers: settings.effectiveAppServers.map { ($0.server.strategy, $0.server.host) },
            skipping: settings.primaryCrontabSet
        )
        var answers = HostAnswers(plan: plan)
        await withTaskGroup(of: (String, Result<HostPreflight.Answer, any Error>).self) { group in
            var started = 0
            while true {
                while started - answers.results.count < settings.fleet.parallelHosts, started < plan.hosts.count {
                    let host = plan.hosts[started]
                    started += 1
                    let request = plan.requests[host]!
                    group.addTask { [self] in
                        do {
                            return (host, .success(try await askHost(host, request)))
                        } catch {
                            return (host, .failure(error))
                        }
                    }
                }
                guard let answered = await group.next() else { return }
                answers.results[answered.0] = answered.1
            }
        }
        return answers
    }

    /// One host's preflight: one ssh call (one more per 64 KiB of request: ``HostPreflight/parts(of:limit:)``).
    /// A pgwarden there that does not know the call (another version) fails it; then its `--version` says which,
    /// for the error naming both versions.
    private func askHost(_ host: String, _ request: HostPreflight.Request) async throws -> HostPreflight.Answer {
        var answers: [HostPreflight.Answer] = []
        for part in HostPreflight.parts(of: request) {
            let answer = try await askHost(host, part: part)
            try HostPreflight.check(answer, to: part, host: host, localVersion: settings.fleet.localVersion)
            answers.append(answer)
        }
        guard let answer = HostPreflight.joined(answers) else { throw WorkersError(.remoteHost, "nothing to ask") }
        return answer
    }

    private func askHost(_ host: String, part request: HostPreflight.Request) async throws -> HostPreflight.Answer {
        let runner = settings.fleet.runner(host)
        let json = String(decoding: try JournalCoding.encode(request), as: UTF8.self)
        let local = settings.fleet.localVersion
        let outcome: RemoteRunner.Outcome
        do {
            outcome = try await runner.run(["workers", "set", "preflight", "--request", json])
        } catch {
            if error.code == .remoteHost, !local.isEmpty { try await runner.checkVersion(localVersion: local) }
            throw error
        }
        guard let answer = HostPreflight.Answer.find(in: outcome.output) else {
            if !local.isEmpty { try await runner.checkVersion(localVersion: local) }
            throw WorkersError(
                .remoteHost,
                "\(TerminalText.safe(host)) did not answer the preflight: its pgwarden exited 0 with no answer it could read",
                hint: "remote_pgwarden must run pgwarden itself, its last line let through"
            )
        }
        return answer
    }

    /// Refuses two names of one host (an alias beside its address), naming both entries.
    func checkHostNames(_ hosts: HostAnswers) throws {
        let servers = settings.effectiveAppServers
        let sets = settings.effectiveWorkerSets
        let named = hosts.named(
            setName: { RunExecution.setName($0, sets[$0]) },
            appServerName: { "app server \(servers[$0].server.name)" }
        )
        if let problem = HostPreflight.sameHost(named) { throw OperatorError(.supervisor, problem) }
    }
}
