import FoundationEssentials
import Reload
import WardenSupport
import Workers

/// The preflight of another host in one ssh call: the coordinator sends every set and app server the deployment
/// file gives that host (`pgwarden workers set preflight --request JSON`); the host's pgwarden answers its version,
/// its identity, and for each set what pausing it would do and for each app server whether it can be reloaded (or
/// why not), in one line `pgwarden-preflight {json}`. Changes nothing there.
package enum HostPreflight {
    /// What the coordinator asks of one host.
    package struct Request: Codable, Sendable, Equatable {
        package var sets: [WorkerSetSpec] = []
        package var appServers: [UWSGIReload.Strategy] = []

        package init(sets: [WorkerSetSpec] = [], appServers: [UWSGIReload.Strategy] = []) {
            self.sets = sets
            self.appServers = appServers
        }
    }

    /// One set's or app server's verdict on the host: what it would do there, or why it cannot.
    package struct Verdict: Codable, Sendable, Equatable {
        package var said: [String]
        package var error: String?

        package init(said: [String] = [], error: String? = nil) {
            self.said = said
            self.error = error
        }
    }

    /// The most bytes of request JSON one call carries: ssh hands the remote words to the remote shell as one
    /// argument of `sh -c`, which Linux bounds at 128 KiB (MAX_ARG_STRLEN).
    package static let requestLimit = 64 * 1024

    /// `request` in parts of at most `limit` bytes of JSON each (one entry larger than that goes alone), in order:
    /// one call for a host with a few sets, one more per 64 KiB of sets beyond. Never empty.
    package static func parts(of request: Request, limit: Int = requestLimit) -> [Request] {
        let size = { (request: Request) in (try? JournalCoding.encode(request).count) ?? 0 }
        var parts: [Request] = []
        var current = Request()
        let entries = request.sets.map { Request(sets: [$0]) } + request.appServers.map { Request(appServers: [$0]) }
        for entry in entries {
            var joined = current
            joined.sets += entry.sets
            joined.appServers += entry.appServers
            if size(joined) > limit, !(current.sets.isEmpty && current.appServers.isEmpty) {
                parts.append(current)
                current = entry
            } else {
                current = joined
            }
        }
        return parts + [current]
    }

    /// The answers to ``parts(of:limit:)``, as one: the first part's version and identity, every verdict in order.
    package static func joined(_ answers: [Answer]) -> Answer? {
        guard var answer = answers.first else { return nil }
        for part in answers.dropFirst() {
            answer.sets += part.sets
            answer.appServers += part.appServers
        }
        return answer
    }

    /// What the host answered.
    package struct Answer: Codable, Sendable, Equatable {
        /// Its pgwarden's version (`0.1.0`).
        package var version: String
        /// Which machine and state directory answered (``HostIdentity``): two names of one host answer the same.
        package var identity: String
        package var sets: [Verdict]
        package var appServers: [Verdict]

        package init(version: String, identity: String, sets: [Verdict], appServers: [Verdict]) {
            self.version = version
            self.identity = identity
            self.sets = sets
            self.appServers = appServers
        }

        /// The prefix of the answer's line.
        package static let prefix = RemoteAnswer.preflightPrefix

        /// The answer's line.
        package var line: String {
            let data = (try? JournalCoding.encode(self)) ?? Data()
            return Self.prefix + String(decoding: data, as: UTF8.self).split(separator: "\n").joined()
        }

        /// The last answer line among `lines`, if any.
        package static func find(in lines: [String]) -> Answer? {
            for line in lines.reversed() where line.hasPrefix(prefix) {
                return try? JournalCoding.decode(Answer.self, from: Data(line.dropFirst(prefix.count).utf8))
            }
            return nil
        }
    }

    /// Where each remote entry of a deployment file goes: the request of each host (in the order hosts first appear)
    /// and, for each set and app server index, its host and its place in that host's request.
    package struct Plan: Sendable, Equatable {
        package var hosts: [String] = []
        package var requests: [String: Request] = [:]
        package var sets: [Int: Slot] = [:]
        package var appServers: [Int: Slot] = [:]

        /// An entry's host and its place in that host's request.
        package struct Slot: Sendable, Equatable {
            package var host: String
            package var index: Int

            package init(host: String, index: Int) {
                self.host = host
                self.index = index
            }
        }

        /// The plan of `sets` and `appServers`, each with its host (`nil`: here, not asked). `skipping` a set's
        /// index leaves it out (the first crontab set, preflighted by itself).
        package init(
            sets: [(spec: WorkerSetSpec, host: String?)],
            appServers: [(strategy: UWSGIReload.Strategy, host: String?)],
            skipping skipped: Int? = nil
        ) {
            for (index, set) in sets.enumerated() where index != skipped {
                guard let host = set.host else { continue }
                self.sets[index] = Slot(host: host, index: request(host).sets.count)
                requests[host]?.sets.append(set.spec)
            }
            for (index, server) in appServers.enumerated() {
                guard let host = server.host else { continue }
                self.appServers[index] = Slot(host: host, index: request(host).appServers.count)
                requests[host]?.appServers.append(server.strategy)
            }
        }

        private mutating func request(_ host: String) -> Request {
            if let request = requests[host] { return request }
            hosts.append(host)
            requests[host] = Request()
            return Request()
        }
    }

    /// Checks `answer` from `host` against its `request` and this pgwarden's `localVersion` (empty: unchecked):
    /// the same minor version, and a verdict for every entry asked.
    ///
    /// - Throws: ``WorkersError`` `remoteHost`, naming the host (and both versions).
    package static func check(_ answer: Answer, to request: Request, host: String, localVersion: String)
        throws(WorkersError)
    {
        let host = TerminalText.safe(host)
        if !localVersion.isEmpty,
            let mismatch = RemoteVersion.mismatch(
                host: host,
                local: localVersion,
                remoteLine: "pgwarden \(answer.version)"
            )
        {
            throw WorkersError(.remoteHost, mismatch)
        }
        guard answer.sets.count == request.sets.count, answer.appServers.count == request.appServers.count else {
            throw WorkersError(
                .remoteHost,
                "\(host) answered the preflight for \(answer.sets.count) set(s) and \(answer.appServers.count) app server(s);"
                    + " it was asked for \(request.sets.count) and \(request.appServers.count)"
            )
        }
    }

    /// An entry of the deployment file and the host it names, for ``sameHost(_:)``.
    package struct Named: Sendable, Equatable {
        /// `workers[2] (crontab of app)`, `app_servers[1] (gunicorn)`.
        package var entry: String
        package var host: String
        package var identity: String

        package init(entry: String, host: String, identity: String) {
            self.entry = entry
            self.host = host
            self.identity = identity
        }
    }

    /// Why two entries name one host by two names (an alias beside its address): the first such pair, in order; or
    /// `nil`. Each name is journaled and recovered as a host of its own, and the checks of overlapping sets compare
    /// names: so one host must have one name in a deployment file.
    package static func sameHost(_ entries: [Named]) -> String? {
        var first: [String: Named] = [:]
        for entry in entries where !entry.identity.isEmpty {
            guard let seen = first[entry.identity] else {
                first[entry.identity] = entry
                continue
            }
            if seen.host != entry.host {
                return
                    "\(seen.entry) (host = \"\(TerminalText.safe(seen.host))\") and \(entry.entry) (host = \"\(TerminalText.safe(entry.host))\")"
                    + " reach the same host (the same machine and pgwarden state directory): give it one name in every entry"
            }
        }
        return nil
    }
}
