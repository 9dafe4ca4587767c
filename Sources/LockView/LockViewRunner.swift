import Dispatch
import FoundationEssentials
import LockInspection
import PGWardenSQL
import Postgres
import Response
import WaitGraph
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `pgwarden locks --watch` on a terminal: runs the full-screen view until `q` (or a signal),
/// and gives the terminal back on every way out.
///
/// The effects around ``LockViewModel``: one key reader for the whole run, polls at a fixed
/// rate, a clock tick each second, SIGWINCH as a resize; SIGINT, SIGTERM, SIGHUP and SIGQUIT
/// restore the terminal and exit with 128 + the signal's number. A connection lost (a restart,
/// a terminated session) is said in the footer and opened again, with the same connection string.
package struct LockViewRunner: Sendable {
    package let interval: Duration
    package let ascii: Bool
    package let colour: Bool
    private let first: ViewSession
    private let reconnection: ViewReconnection

    /// Creates a runner on `session`; `reopen` opens a new one once its connection is lost.
    package init(
        session: ViewSession,
        reopen: @escaping @Sendable () async throws(PostgresError) -> ViewSession,
        interval: Duration,
        ascii: Bool,
        colour: Bool
    ) {
        first = session
        reconnection = ViewReconnection(open: reopen)
        self.interval = interval
        self.ascii = ascii
        self.colour = colour
    }

    /// Runs the view until the operator quits.
    package func run() async throws(TerminalError) {
        let terminal = try RawTerminal()
        defer { terminal.restore() }
        let ending = SignalMonitor([SIGINT, SIGTERM, SIGHUP, SIGQUIT]) { number in
            terminal.restore()
            exit(ExitStatus.signalled(number))
        }
        defer { ending.cancel() }
        let (events, sink) = AsyncStream<LockViewEvent>.makeStream()
        let resizing = SignalMonitor([SIGWINCH]) { _ in sink.yield(.resize(terminal.size())) }
        defer { resizing.cancel() }
        let keyTaken = DispatchSemaphore(value: 0)
        startReadingKeys(terminal, into: sink, taken: keyTaken)
        let sessions = ViewSessionHolder(first)
        let tasks = [startPolling(sessions, into: sink), startTicking(into: sink)]
        defer { tasks.forEach { $0.cancel() } }

        var model = LockViewModel(
            scope: first.inspector.scopeDescription,
            size: terminal.size(),
            now: Date(),
            ascii: ascii
        )
        let screen = LockViewScreen(colour: colour)
        terminal.write(screen.frame(model))
        for await event in events {
            var redraw = false
            for action in Self.withSizeNow(event, terminal.size(), model.size).flatMap({ model.update($0) }) {
                switch action {
                case .redraw: redraw = true
                case .quit: return
                case .lookUpIdentity(let pid, _):
                    Task { sink.yield(await lookUp(pid, on: sessions.current)) }
                case .signal(let identity, let kind):
                    Task { sink.yield(await send(kind, to: identity, through: sessions.current)) }
                }
            }
            if redraw { terminal.write(screen.frame(model)) }
            // The key reader reads on once the view has taken this key (not after q: it has returned).
            if case .key = event { keyTaken.signal() }
        }
    }

    /// `event`, with the terminal's size as it is now (`size`, one ioctl) when it differs from the model's
    /// (`shown`): the last size always wins, even when a SIGWINCH of a resize storm was lost or its event
    /// queued behind later ones. A resize event itself carries the size read when its signal was handled,
    /// which may be stale by now: the size now replaces it. Any event corrects the size: a tick each second,
    /// every poll.
    static func withSizeNow(_ event: LockViewEvent, _ size: ScreenSize, _ shown: ScreenSize) -> [LockViewEvent] {
        if case .resize = event { return [.resize(size)] }
        return size == shown ? [event] : [.resize(size), event]
    }

    /// The one place a signal leaves the lock view: identity-checked, so it reaches the session
    /// the operator confirmed (same pid, backend start, transaction and state) or nothing.
    private func send(_ kind: SignalKind, to shown: ShownSession, through session: ViewSession) async -> LockViewEvent {
        let request = SignalRequest(
            action: kind == .terminate ? .terminate : .cancel,
            target: SessionIdentity(
                key: SessionKey(pid: shown.pid, backendStart: shown.backendStartText),
                xactStart: shown.transactionStartText,
                state: shown.state,
                checksTransaction: true
            )
        )
        let sent = await session.signaller.send(request)
        return .signalFinished(
            pid: shown.pid,
            succeeded: sent.outcome.reachedSession,
            report: Self.report(sent, shown: shown)
        )
    }

    static func report(_ sent: BackendSignaller.Report, shown: ShownSession) -> String {
        let done = sent.request.action == .terminate ? "terminated" : "cancelled"
        let pid = sent.request.target.pid
        let who = [shown.user.map { $0 + (shown.database.map { "@" + $0 } ?? "") }, shown.application]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
        switch sent.outcome {
        case .signalled: return "\(done) pid \(pid)" + (who.isEmpty ? "" : " (\(who))")
        case .ineffective(let reason): return "sent, to no effect: " + reason
        case .gone: return "pid \(pid) has gone: nothing sent"
        case .changed(let now): return "not sent: pid \(pid) changed since you confirmed: " + now
        case .failed: return "not sent: " + (sent.outcome.detail ?? "failed")
        }
    }

    /// Who `pid` is now (`sql/session_identity.sql`), for the confirmation.
    private func lookUp(_ pid: Int32, on session: ViewSession) async -> LockViewEvent {
        do {
            let rows = try await session.inspector.connection.query(Queries.sessionIdentity, [pid]).rows
            guard let row = rows.first else { return .identity(pid: pid, nil) }
            func date(_ column: String) throws(PostgresError) -> Date? {
                try row.decode(Double.self, column).map(Date.init(timeIntervalSince1970:))
            }
            var identity = ShownSession(
                pid: pid,
                user: try row.decode(String.self, "usename"),
                database: try row.decode(String.self, "datname"),
                application: try row.decode(String.self, "application_name"),
                state: try row.decode(String.self, "state"),
                backendStart: try date("backend_start"),
                queryStart: try date("query_start"),
                transactionStart: try date("xact_start")
            )
            identity.backendStartText = try row.decode(String.self, "backend_start_text")
            identity.transactionStartText = try row.decode(String.self, "xact_start_text")
            if let holder = try row.decode(Int32.self, "holder_pid") {
                identity.claim = UpgradeClaim(
                    holderPID: holder,
                    holderRole: try row.decode(String.self, "holder_role") ?? "?",
                    holderApplicationName: try row.decode(String.self, "holder_application_name")
                )
            }
            return .identity(pid: pid, identity)
        } catch {
            return .signalFinished(pid: pid, succeeded: false, report: "could not read pid \(pid): \(error)")
        }
    }

    /// One thread for the whole run reads the keys, until the terminal is restored; end of input quits.
    /// After each key it waits until the view has taken it (`taken`), so that the keys typed after the
    /// one that ends the view (`q`) are not read: they stay in the terminal, for the shell.
    private func startReadingKeys(
        _ terminal: RawTerminal,
        into sink: AsyncStream<LockViewEvent>.Continuation,
        taken: DispatchSemaphore
    ) {
        DetachedThread.start {
            var decoder = KeyDecoder()
            // One key's bytes at a time, never more: what is typed after q (in the same burst too) stays in the
            // terminal. A key of several bytes (an arrow's escape sequence) arrives at once: read on while it is
            // incomplete and more is there; a lone Esc is an Esc after 30 ms.
            while var bytes = terminal.read(maximum: 1) {
                guard !bytes.isEmpty else {
                    sink.yield(.key(.character("q")))
                    return
                }
                while KeyDecoder.isIncomplete(bytes), terminal.hasInput(within: .milliseconds(30)),
                    let more = terminal.read(maximum: 1), !more.isEmpty
                {
                    bytes += more
                }
                for key in decoder.decode(bytes) {
                    sink.yield(.key(key))
                    taken.wait()
                }
            }
        }
    }

    /// Polls at a fixed rate; when nothing waits in the connection's database, also asks where waits are.
    /// A lost connection is opened again before the next poll.
    private func startPolling(
        _ sessions: ViewSessionHolder,
        into sink: AsyncStream<LockViewEvent>.Continuation
    ) -> Task<Void, Never> {
        let interval = self.interval
        let reconnection = self.reconnection
        return Task {
            let clock = ContinuousClock()
            var schedule = FixedRateSchedule(start: clock.now)
            var hazards = HazardsCache()
            while !Task.isCancelled {
                let inspector = await sessions.current.inspector
                do throws(PostgresError) {
                    var snapshot = try await inspector.addingProgress(to: try await inspector.poll())
                    var elsewhere: [WaitsElsewhere] = []
                    if snapshot.isEmpty, inspector.scope == .currentDatabase {
                        snapshot.hazards = await hazards.read(from: inspector, now: clock.now)
                        elsewhere = ((try? await inspector.waitsInOtherDatabases()) ?? []).map {
                            WaitsElsewhere(database: $0.database, count: $0.count)
                        }
                    }
                    sink.yield(.snapshot(snapshot, elsewhere: elsewhere))
                } catch  where error.code == .connectionLost {
                    sink.yield(.pollFailed("lost the connection (\(error.message)); connecting again"))
                    let reopened = await reconnection.reopen { error, retryIn in
                        sink.yield(.pollFailed("cannot connect again (\(error.message)); retrying in \(retryIn)"))
                    }
                    if let reopened { await sessions.replace(with: reopened) }
                    continue
                } catch {
                    sink.yield(.pollFailed("\(error)"))
                }
                schedule.advance(by: interval, now: clock.now)
                try? await Task.sleep(until: schedule.deadline, clock: clock)
            }
        }
    }

    private func startTicking(into sink: AsyncStream<LockViewEvent>.Continuation) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                sink.yield(.tick(Date()))
            }
        }
    }
}

/// The hazards of `locks --watch` while nothing waits: read at most every 5 s (pg_locks is read only for the
/// sessions idle in transaction, and only then), the last reading kept in between.
package struct HazardsCache {
    private var readAt: ContinuousClock.Instant?
    private var last: LockHazards?

    package init() {}

    package mutating func read(from inspector: LockInspector, now: ContinuousClock.Instant) async -> LockHazards? {
        if let readAt, now - readAt < .seconds(5) { return last }
        readAt = now
        last = try? await inspector.hazards()
        return last
    }
}
