import ArgumentParser
import FoundationEssentials
import Logging
import Supervisor
import WardenSupport
import Workers

extension PGWarden.WorkersCommand {
    /// `pgwarden workers set …`: one worker set, paused and resumed at another host's request (through ssh), in
    /// this host's own journal. Each answers one line `pgwarden-answer {json}` after what it did.
    struct SetCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Pause, resume or inspect one worker set for a coordinating pgwarden (through ssh).",
            discussion: """
                A pgwarden upgrade whose deployment file gives a set a host ("host = ...") runs these on that host through ssh. The set is journaled in this host's state directory, under sets/<pause id>, so that pgwarden recover here resumes it as well; asking again is harmless. The answer is one line: pgwarden-answer {"pauseID": ..., "state": ..., "said": [...]}.
                """,
            subcommands: [SetPause.self, SetResume.self, SetStatus.self, SetPlan.self, SetPreflight.self]
        )
    }

    struct SetPause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause the set as pause ID.")
        @OptionGroup var set: SetOptions
        @Option(name: .customLong("spec"), help: "The set, as the coordinator's JSON (required).") var spec: String
        @Option(
            name: .customLong("not-after"),
            help: "Refuse the pause after this time, in seconds since 1970 (default: no deadline)."
        ) var notAfter: Double?

        func run() async throws {
            let spec = try SetOptions.decode(spec)
            try set.answer(
                await set.remote.pause(
                    spec,
                    id: set.pauseID,
                    owner: "coordinator pause \(set.pauseID)",
                    notAfter: notAfter.map { Date(timeIntervalSince1970: $0) }
                )
            )
        }
    }

    struct SetResume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Resume pause ID, if in force; one not made here yet is refused if it comes later."
        )
        @OptionGroup var set: SetOptions
        @Option(
            name: .customLong("not-after"),
            help:
                "The pause's deadline, in seconds since 1970: a pause never made here is refused until then (default: a week from now)."
        ) var notAfter: Double?

        func run() async throws {
            try set.answer(
                await set.remote.resume(set.pauseID, notAfter: notAfter.map { Date(timeIntervalSince1970: $0) })
            )
        }
    }

    struct SetStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Whether pause ID is in force."
        )
        @OptionGroup var set: SetOptions

        func run() async throws { try set.answer(set.remote.status(set.pauseID)) }
    }

    struct SetPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "What pausing the set would do here; an error when it cannot be paused. Changes nothing."
        )
        @OptionGroup var set: SetOptions
        @Option(name: .customLong("spec"), help: "The set, as the coordinator's JSON (required).") var spec: String

        func run() async throws { try set.answer(await set.remote.plan(try SetOptions.decode(spec), id: set.pauseID)) }
    }
}

extension PGWarden.WorkersCommand {
    struct SetPreflight: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "preflight",
            abstract: "A coordinator's whole preflight of this host in one answer. Changes nothing.",
            discussion: """
                The version of this pgwarden, which host this is, what pausing each set would do here and whether each app server can be reloaded here, as one line: pgwarden-preflight {json}.
                """
        )
        @OptionGroup var state: StateDirectoryOptions
        @Option(name: .customLong("request"), help: "The sets and app servers, as the coordinator's JSON (required).")
        var request: String

        func run() async throws {
            let request: HostPreflight.Request
            do {
                request = try JournalCoding.decode(HostPreflight.Request.self, from: Data(self.request.utf8))
            } catch {
                throw WorkersError(.workerSet, "--request is not a preflight request's JSON: \(error)")
            }
            let answer = await HostPreflight.answer(
                request,
                version: PGWarden.version,
                stateDirectory: state.directory,
                logger: Logger(label: "pgwarden.workers")
            )
            Terminal.printLine(answer.line)
        }
    }
}

/// The options of every `workers set` subcommand.
struct SetOptions: ParsableArguments {
    @Option(name: .customLong("pause-id"), help: "The pause's id, chosen by the coordinator (required).") var pauseID:
        String
    @OptionGroup var state: StateDirectoryOptions

    var remote: RemoteSet { RemoteSet(stateDirectory: state.directory, logger: Logger(label: "pgwarden.workers")) }

    static func decode(_ json: String) throws -> WorkerSetSpec {
        do {
            return try JournalCoding.decode(WorkerSetSpec.self, from: Data(json.utf8))
        } catch {
            throw WorkersError(.workerSet, "--spec is not a worker set's JSON: \(error)")
        }
    }

    /// Prints what was done, then the answer's line.
    func answer(_ answer: RemoteAnswer) {
        answer.said.forEach { Terminal.printLine(TerminalText.safe($0)) }
        Terminal.printLine(answer.line)
    }
}
