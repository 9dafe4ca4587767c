import WardenSupport

extension RemoteAnswer {
    /// The state `answer` gives pause `id`, when it is one of `accepted`: a remote step counts as done only when the
    /// host's pgwarden says so for that very pause. A host that exits 0 without an answer pgwarden can read (a wrapper
    /// or a shell start-up file that swallows it), answers for another pause, or answers another state has not
    /// confirmed the step, and the coordinator must not go on as if it had: a pause taken as done would let the
    /// migration run with that host's workers live; a resume taken as done would leave them paused unseen.
    ///
    /// - Throws: ``OperatorError`` `remoteHost`, naming the host, the step, the pause and what came back.
    package static func confirm(
        _ answer: RemoteAnswer?,
        pause id: String,
        step: String,
        host: String,
        accepting accepted: Set<String>
    ) throws(WorkersError) -> String {
        let host = TerminalText.safe(host)
        let hint =
            "remote_pgwarden must run pgwarden itself, its last line let through (no wrapper, ForceCommand or shell start-up file that swallows it)"
        guard let answer else {
            throw WorkersError(
                .remoteHost,
                "\(host) did not confirm the \(step) of pause \(id): its pgwarden exited 0 with no answer it could read",
                hint: hint
            )
        }
        guard answer.pauseID == id else {
            throw WorkersError(
                .remoteHost,
                "\(host) answered the \(step) of pause \(id) for another pause ('\(Self.shown(answer.pauseID))')",
                hint: hint
            )
        }
        guard accepted.contains(answer.state) else {
            throw WorkersError(
                .remoteHost,
                "\(host) did not confirm the \(step) of pause \(id): it answered '\(Self.shown(answer.state))'"
            )
        }
        return answer.state
    }

    /// A word from the host, made safe for a terminal and cut short.
    private static func shown(_ word: String) -> String {
        let safe = TerminalText.safe(word)
        return safe.count > 80 ? String(safe.prefix(80)) + "…" : safe
    }
}

extension RemoteRunner {
    /// Runs a step on pause `id`, and returns its outcome once the host has confirmed it in one of the `accepted`
    /// states (``RemoteAnswer/confirm(_:pause:step:host:accepting:)``); throws otherwise, naming the host.
    package func run(
        _ arguments: [String],
        confirming id: String,
        step: String,
        accepting accepted: Set<String>
    ) async throws(WorkersError) -> Outcome {
        let outcome = try await run(arguments)
        _ = try RemoteAnswer.confirm(
            outcome.answer,
            pause: id,
            step: step,
            host: command.destination,
            accepting: accepted
        )
        return outcome
    }
}
