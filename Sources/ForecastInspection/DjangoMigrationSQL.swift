import Forecast
import FoundationEssentials
import Processes
import SQLParser
import Subprocess
import WardenSupport

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The SQL of the migrations a Django `migrate` will apply: `migrate --plan` says which, `showmigrations --plan`
/// which of them are applied already (then they are unapplied, `sqlmigrate --backwards`), and `sqlmigrate` prints
/// each one's SQL with its own `BEGIN`/`COMMIT` (none for `atomic = False`). Nothing here changes the database.
package struct DjangoMigrationSQL: Sendable {
    /// Every migration's SQL, in order, each after a `-- django: app.name` line.
    package var sql: String
    /// Where the SQL came from, for the forecast's heading, with the statements of each migration:
    /// `django: python manage.py migrate: shop.0002_order_note (statements 1–3), shop.0004_fill_note (4–5)`.
    package var source: String
    /// The migrations the command will run, in order.
    package var migrations: [DjangoMigration]
    package var warnings: [String] = []
    /// What the SQL leaves out: each migration's RunPython step, and a migration sqlmigrate failed on (and those after).
    package var uncovered: [String] = []
    /// The statements counted so far, and each migration's span of them.
    var statementCount = 0
    var spans: [String] = []

    /// The migration's SQL.
    ///
    /// - Parameter environment: variables set for Django on top of pgwarden's (libpq's, of the database it reads).
    /// - Throws: ``OperatorError`` `migrationCommand` when the command cannot run as given (no manage.py, an app or
    ///   migration Django does not know): the migration itself would fail the same way.
    package static func render(_ migrate: DjangoMigrate, environment: [String: String]) async throws(OperatorError)
        -> DjangoMigrationSQL
    {
        if let script = migrate.script, !FileManager.default.fileExists(atPath: script) {
            throw OperatorError(
                .migrationCommand,
                "\(script) does not exist (in \(FileManager.default.currentDirectoryPath))",
                hint: "run pgwarden in the Django project's directory, or give manage.py's path"
            )
        }
        let planText = try await output(of: migrate.planCommand, environment: environment)
        guard let plan = DjangoOutput.plan(planText) else {
            throw OperatorError(
                .forecast,
                "\(ShellQuoting.command(migrate.planCommand)) printed no plan",
                hint: "is this Django's migrate? forecast its SQL with --sql FILE"
            )
        }
        let listing = ShellQuoting.command(migrate.launcher + ["migrate"] + migrate.arguments)
        var result = DjangoMigrationSQL(sql: "", source: "django: \(listing)", migrations: plan)
        if let fake = migrate.fakeOption {
            result.warnings.append(
                "migrate \(fake) records migrations as applied without running them (\(fake == "--fake" ? "all" : "those whose tables exist")): the forecast is of their SQL as if they ran"
            )
        }
        guard !plan.isEmpty else {
            result.warnings.append("no migration to apply: \(listing) runs no SQL")
            return result
        }
        let applied = DjangoOutput.applied(
            try await output(of: migrate.showMigrationsCommand, environment: environment)
        )
        for (index, migration) in plan.enumerated() {
            let backwards = applied.contains(migration)
            let command = migrate.sqlMigrateCommand(migration, backwards: backwards)
            let run = await runCapturing(command, environment: environment)
            guard case .success(let text) = run else {
                let message = run.failureMessage ?? "sqlmigrate failed"
                let rest = plan.count - index - 1
                result.uncovered.append(
                    "migration \(migration)"
                        + (rest > 0 ? " and the \(Plural.count(rest, "one", "ones")) after it" : "")
                        + " (sqlmigrate failed)"
                )
                result.warnings.append(
                    "\(ShellQuoting.command(command)) failed: \(message); the forecast covers only the migrations before it"
                )
                break
            }
            result.add(migration, sql: text, backwards: backwards)
        }
        if !result.spans.isEmpty { result.source += ": " + result.spans.joined(separator: ", ") }
        return result
    }

    /// Adds one migration's SQL and says what of it is code the forecast cannot see.
    mutating func add(_ migration: DjangoMigration, sql text: String, backwards: Bool) {
        sql += "-- django: \(migration)\(backwards ? " (unapplied: sqlmigrate --backwards)" : "")\n" + text
        if !sql.hasSuffix("\n") { sql += "\n" }
        let count = SQLParser.parseScript(text).statements.count
        let statements =
            count == 0
            ? "no SQL"
            : count == 1
                ? "statement \(statementCount + 1)" : "statements \(statementCount + 1)–\(statementCount + count)"
        spans.append("\(migration) (\(backwards ? "unapplied, " : "")\(statements))")
        statementCount += count
        let read = DjangoOutput.migrationSQL(text)
        for step in read.notSQL {
            uncovered.append("migration \(migration)'s \(step) (Python code, RunPython)")
            warnings.append(
                "migration \(migration) runs Python code (\(step)), which is not forecast: the locks it takes are not known"
            )
        }
        if read.sqlBeforeCode {
            warnings.append(
                "migration \(migration) runs its Python code in the transaction of its SQL: the locks that SQL takes stay held while the code runs, for as long as it takes"
            )
        }
    }

    /// The command's standard output, or why it failed.
    static func output(of command: [String], environment: [String: String]) async throws(OperatorError) -> String {
        switch await runCapturing(command, environment: environment) {
        case .success(let text): return text
        case .failure(let message):
            throw OperatorError(.migrationCommand, "\(ShellQuoting.command(command)) failed: \(message)")
        }
    }

    /// Runs `command` without a shell, in its own process group, standard input closed.
    static func runCapturing(_ command: [String], environment: [String: String]) async -> CommandOutcome {
        guard let executable = command.first else { return .failure("no command") }
        do {
            let run = try await ToolCommand.run(executable, Array(command.dropFirst()), environment: environment)
            guard case .exited(0) = run.status else {
                let lines = run.standardError.split(whereSeparator: \.isNewline)
                let last = lines.last { !$0.trimmed().isEmpty }.map { String($0.trimmed()) }
                return .failure(last ?? "exit status \(run.status)")
            }
            return .success(run.standardOutput)
        } catch {
            return .failure("cannot run \(executable): \(error)")
        }
    }

    /// A command's standard output, or its standard error's last line.
    enum CommandOutcome {
        case success(String)
        case failure(String)

        var failureMessage: String? {
            if case .failure(let message) = self { return message }
            return nil
        }
    }
}
