/// A Django `migrate` as an operator types it, and the read-only commands that tell what it will run:
/// `python manage.py migrate [APP [TARGET]] [OPTIONS]`, `./manage.py migrate …`, `python3 -m django migrate …`,
/// `django-admin migrate …`. Pure: it only reads and makes argument vectors.
package struct DjangoMigrate: Sendable, Equatable {
    /// The words that start Django's management utility: `python manage.py`, `./manage.py`,
    /// `python -m django`, `django-admin`.
    package var launcher: [String]
    /// `migrate`'s own arguments, the words after `migrate`.
    package var arguments: [String]
    /// The script the launcher runs (`manage.py`), when it names one.
    package var script: String?

    package init(launcher: [String], arguments: [String], script: String?) {
        self.launcher = launcher
        self.arguments = arguments
        self.script = script
    }

    /// The launcher `pgwarden forecast --django` uses when its arguments are manage.py's alone.
    package static let defaultLauncher = ["python3", "manage.py"]

    /// The Django `migrate` that `command` runs, or `nil` when it runs something else.
    package static func recognise(_ command: [String]) -> DjangoMigrate? {
        guard let launcher = launcherLength(command), launcher.count < command.count,
            command[launcher.count] == "migrate"
        else { return nil }
        return DjangoMigrate(
            launcher: Array(command[..<launcher.count]),
            arguments: Array(command[(launcher.count + 1)...]),
            script: launcher.script
        )
    }

    /// `pgwarden forecast --django WORDS`: a whole command (`python manage.py migrate shop`), or manage.py's
    /// arguments alone (`migrate shop 0003`, or without `migrate`), run with `python3 manage.py`.
    package static func forecastArguments(_ words: [String]) -> DjangoMigrate {
        if let migrate = recognise(words) { return migrate }
        if let launcher = launcherLength(words) {
            // A launcher without `migrate`: its words are manage.py's arguments to migrate.
            return DjangoMigrate(
                launcher: Array(words[..<launcher.count]),
                arguments: Array(words[launcher.count...].drop { $0 == "migrate" }),
                script: launcher.script
            )
        }
        return DjangoMigrate(
            launcher: defaultLauncher,
            arguments: words.first == "migrate" ? Array(words.dropFirst()) : words,
            script: defaultLauncher[1]
        )
    }

    /// How many leading words of `command` start Django, and the script among them.
    private static func launcherLength(_ command: [String]) -> (count: Int, script: String?)? {
        guard let first = command.first else { return nil }
        let program = baseName(first)
        if program == "manage.py" { return (1, first) }
        if program == "django-admin" || program == "django-admin.py" { return (1, nil) }
        guard isPython(program) else { return nil }
        var index = 1
        while index < command.count, command[index].hasPrefix("-"), command[index] != "-" {
            let option = command[index]
            if option == "-m" {
                guard index + 1 < command.count, command[index + 1] == "django" else { return nil }
                return (index + 2, nil)
            }
            if option.hasPrefix("-m") { return option == "-mdjango" ? (index + 1, nil) : nil }
            if option.hasPrefix("-c") { return nil }
            // -W ARG and -X ARG take the next word unless written together (-Wignore).
            index += ["-W", "-X"].contains(option) ? 2 : 1
        }
        guard index < command.count, baseName(command[index]) == "manage.py" else { return nil }
        return (index + 1, command[index])
    }

    /// `python`, `python3`, `python3.11`.
    private static func isPython(_ program: String) -> Bool {
        guard program.hasPrefix("python") else { return false }
        return program.dropFirst("python".count).allSatisfy { $0.isNumber || $0 == "." }
    }

    private static func baseName(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }

    /// Options of `migrate` that take a value in the next word when not written `--option=value`.
    static let valueOptions: Set<String> = ["--database", "--settings", "--pythonpath", "-v", "--verbosity"]
    /// Options `sqlmigrate` and `showmigrations` share with `migrate`: they choose the project and database.
    static let sharedOptions: Set<String> = ["--database", "--settings", "--pythonpath"]
    /// Options of `migrate` left out of `migrate --plan`: they change nothing in the plan, or end it early.
    static let droppedFromPlan: Set<String> = [
        "--plan", "--check", "--prune", "--noinput", "--no-input", "--no-color", "--force-color", "--fake",
        "--fake-initial", "--run-syncdb",
    ]

    /// `migrate --fake` and `--fake-initial` record migrations without running them (all, or those whose
    /// tables exist): the option, when given.
    package var fakeOption: String? {
        arguments.first { $0 == "--fake" || $0 == "--fake-initial" }
    }

    /// `… migrate ARGS --plan --no-color`: the migrations the command will apply (or unapply), in order.
    package var planCommand: [String] {
        launcher + ["migrate"] + arguments.filter { !Self.droppedFromPlan.contains($0) } + ["--plan", "--no-color"]
    }

    /// `… showmigrations --plan --no-color`: every migration, applied or not.
    package var showMigrationsCommand: [String] {
        launcher + ["showmigrations", "--plan", "--no-color"] + shared
    }

    /// `… sqlmigrate APP NAME [--backwards] --no-color`: the SQL of one migration.
    package func sqlMigrateCommand(_ migration: DjangoMigration, backwards: Bool) -> [String] {
        launcher + ["sqlmigrate", migration.app, migration.name] + (backwards ? ["--backwards"] : []) + ["--no-color"]
            + shared
    }

    /// The operator's `--database`, `--settings` and `--pythonpath`, in either spelling.
    var shared: [String] {
        var words: [String] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            let name = String(word.prefix { $0 != "=" })
            if Self.sharedOptions.contains(name) {
                if word.contains("=") {
                    words.append(word)
                } else if index + 1 < arguments.count {
                    words += [word, arguments[index + 1]]
                    index += 1
                }
            } else if Self.valueOptions.contains(word) {
                index += 1
            }
            index += 1
        }
        return words
    }
}

/// One Django migration: `shop.0002_order_note`.
package struct DjangoMigration: Sendable, Hashable, CustomStringConvertible {
    package var app: String
    package var name: String

    package init(app: String, name: String) {
        self.app = app
        self.name = name
    }

    /// `app.name` as Django prints it; `nil` for anything else.
    package init?(label: some StringProtocol) {
        let parts = label.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            !label.contains(where: { $0.isWhitespace })
        else { return nil }
        self.init(app: String(parts[0]), name: String(parts[1]))
    }

    package var description: String { "\(app).\(name)" }
}
