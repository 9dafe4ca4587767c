import ArgumentParser
import LockInspection
import Logging
import Response

extension PGWarden {
    /// `pgwarden cancel`: one decision by hand.
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Cancel a backend's statement, or with --terminate end its session.",
            discussion: """
                pg_cancel_backend, or with --terminate pg_terminate_backend (which waits for the backend to exit, so its locks are gone when pgwarden returns). Cancelling an idle-in-transaction session does nothing to its transaction or its locks: pgwarden says so. Exits non-zero when a pid does not exist, may not be signalled, or the signal failed.

                Examples:
                  pgwarden cancel 4242
                  pgwarden cancel --terminate 4242 4243
                """
        )

        @Argument(help: ArgumentHelp("Backend process ids.", valueName: "pid"))
        var pids: [Int32]

        @Flag(help: "End the session (pg_terminate_backend) instead of cancelling its statement.")
        var terminate = false

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if let bad = pids.first(where: { $0 <= 0 }) {
                throw ValidationError("\(bad) is not a backend pid")
            }
        }

        func run() async throws {
            let (session, role) = try await InspectorSession.open(
                connectionString: connection.connectionString,
                logger: Logger(label: "pgwarden.cancel")
            )
            defer { Task { await session.close() } }
            let signaller = BackendSignaller(connection: session, role: role)
            let action: SignalAction = terminate ? .terminate : .cancel
            var failed = false
            for pid in pids {
                let sent = await signaller.signal(pid, action)
                failed = failed || !sent.outcome.reachedSession
                report(sent)
            }
            if failed { throw ExitCode.failure }
        }

        /// Says what was signalled: the session's state and when its query started, as PostgreSQL found them.
        private func report(_ sent: BackendSignaller.Report) {
            let pid = sent.request.target.pid
            var found: [String] = []
            if let state = sent.state { found.append(state) }
            if let queryStart = sent.queryStart { found.append("query started \(queryStart)") }
            if let backendStart = sent.backendStart { found.append("session started \(backendStart)") }
            let was = found.isEmpty ? "" : " (\(found.joined(separator: ", ")))"
            switch sent.outcome {
            case .signalled:
                Terminal.printLine(
                    sent.request.action == .cancel
                        ? "pid \(pid): statement cancelled\(was)" : "pid \(pid): terminated\(was)"
                )
            case .ineffective(let reason):
                Terminal.printWarning(reason, hint: "pgwarden cancel --terminate \(pid)")
            case .gone:
                Terminal.printError("pid \(pid) is not a PostgreSQL backend (no such process, or it has already ended)")
            case .changed(let now):
                Terminal.printError("pid \(pid): not signalled: \(now)")
            case .failed(_, let reason):
                Terminal.printError(sent.outcome.detail.map { "pid \(pid): \($0)" } ?? reason)
            }
        }
    }
}
