import FoundationEssentials
import Processes
import Subprocess
import WardenSupport

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The SQL of the pending Alembic revisions, as Alembic's offline mode (`upgrade FROM:head --sql`) renders it.
package struct AlembicOfflineSQL: Sendable {
    /// The SQL Alembic printed (for the revisions it rendered).
    package var sql: String
    /// The `upgrade` range asked for, such as `0001:head`.
    package var range: String
    /// When Alembic failed: the revision it was rendering (`0002`, from its `Running upgrade 0001 -> 0002` line)
    /// and its standard error's last line.
    package var failure: (revision: String?, message: String)?

    /// Runs `executable ARGUMENTS upgrade CURRENT:TARGET --sql` (`TARGET` alone when nothing is applied yet).
    ///
    /// - Parameters:
    ///   - currentRevision: `alembic_version`'s revision; `nil` when the table is absent or empty.
    ///   - target: the revision the migration upgrades to (`head` unless it names one).
    ///   - environment: variables set for Alembic on top of pgwarden's (libpq's of `--dsn`, as the migration gets).
    package static func render(
        executable: String,
        arguments: [String],
        currentRevision: String?,
        target: String = "head",
        environment: [String: String] = [:]
    ) async throws(OperatorError) -> AlembicOfflineSQL {
        if let currentRevision, currentRevision.contains(",") {
            throw OperatorError(
                .forecast,
                "alembic_version holds several heads (\(currentRevision)): the offline range is ambiguous",
                hint: "render the SQL yourself (alembic upgrade REV:head --sql) and pass it with --sql"
            )
        }
        let range = currentRevision.map { "\($0):\(target)" } ?? target
        let status: TerminationStatus
        let output: String
        let errors: [String]
        do {
            let run = try await ToolCommand.run(
                executable,
                arguments + ["upgrade", range, "--sql"],
                environment: environment
            )
            status = run.status
            output = run.standardOutput
            errors = run.standardError.split(whereSeparator: \.isNewline).map(String.init)
        } catch {
            throw OperatorError(
                .forecast,
                "cannot run \(executable): \(error)",
                hint: "give Alembic's path with --alembic-command"
            )
        }
        guard case .exited(0) = status else {
            let revision = errors.last { $0.contains("Running upgrade") }.flatMap(Self.target(ofRunningLine:))
            let message = errors.last { !$0.trimmed { $0.isWhitespace && !$0.isNewline }.isEmpty } ?? "alembic failed"
            return AlembicOfflineSQL(sql: Self.before(revision, in: output), range: range, failure: (revision, message))
        }
        return AlembicOfflineSQL(sql: output, range: range, failure: nil)
    }

    /// `0002` of `INFO  [alembic.runtime.migration] Running upgrade 0001 -> 0002, Add a note`.
    static func target(ofRunningLine line: String) -> String? {
        guard let arrow = line.firstRange(of: "-> ") else { return nil }
        let rest = line[arrow.upperBound...]
        return String(rest.prefix { $0 != "," && !$0.isWhitespace })
    }

    /// The SQL rendered before the revision that failed: everything before its `-- Running upgrade … -> REV` line.
    static func before(_ revision: String?, in output: String) -> String {
        guard let revision,
            let marker = output.firstRange(of: "-> \(revision)\n") ?? output.firstRange(of: "-> \(revision)")
        else {
            return ""
        }
        let lineStart =
            output[..<marker.lowerBound].lastIndex(of: "\n").map { output.index(after: $0) } ?? output.startIndex
        return String(output[..<lineStart])
    }
}
