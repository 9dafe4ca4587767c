import WardenSupport

/// What Django's read-only commands print, read: `migrate --plan`, `showmigrations --plan`, `sqlmigrate`.
/// Pure.
package enum DjangoOutput {
    /// The migrations of `migrate --plan`'s output, in order: the lines under `Planned operations:` that are
    /// not indented (the indented ones describe each migration's operations); `nil` without that heading.
    package static func plan(_ output: String) -> [DjangoMigration]? {
        let lines = output.split(whereSeparator: \.isNewline)
        guard let heading = lines.firstIndex(where: { $0.trimmed() == "Planned operations:" }) else {
            return nil
        }
        var migrations: [DjangoMigration] = []
        for line in lines[(heading + 1)...] where !(line.first?.isWhitespace ?? true) {
            guard let migration = DjangoMigration(label: line.trimmed()) else { return nil }
            migrations.append(migration)
        }
        return migrations
    }

    /// The applied migrations of `showmigrations --plan`'s output (`[X]  shop.0001_initial`).
    package static func applied(_ output: String) -> Set<DjangoMigration> {
        var applied: Set<DjangoMigration> = []
        for line in output.split(whereSeparator: \.isNewline) {
            let text = line.trimmed()
            guard text.hasPrefix("[X]") else { continue }
            let label = text.dropFirst(3).trimmed().prefix { !$0.isWhitespace }
            if let migration = DjangoMigration(label: label) { applied.insert(migration) }
        }
        return applied
    }

    /// One migration's `sqlmigrate` output, read.
    package struct MigrationSQL: Sendable, Equatable {
        /// Whether Django runs it in one transaction: its output begins with `BEGIN;` (`atomic = False`:
        /// it does not, and each statement runs in a transaction of its own).
        package var atomic: Bool
        /// The operations it cannot write as SQL (`RunPython`), by Django's description: `Raw Python operation`.
        package var notSQL: [String]
        /// Whether SQL runs before the first of ``notSQL`` in the same transaction: its locks are then held while
        /// that code runs.
        package var sqlBeforeCode: Bool

        package init(atomic: Bool, notSQL: [String], sqlBeforeCode: Bool) {
            self.atomic = atomic
            self.notSQL = notSQL
            self.sqlBeforeCode = sqlBeforeCode
        }
    }

    /// Reads one migration's `sqlmigrate` output: each operation comes as `--`, `-- DESCRIPTION`, `--`, then its
    /// SQL, or `-- THIS OPERATION CANNOT BE WRITTEN AS SQL`.
    package static func migrationSQL(_ output: String) -> MigrationSQL {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmed() }.filter { !$0.isEmpty }
        let statements = lines.filter { !$0.hasPrefix("--") }
        let atomic = statements.first?.uppercased() == "BEGIN;"
        var notSQL: [String] = []
        var sqlBeforeCode = false
        var sqlSoFar = false
        for (index, line) in lines.enumerated() {
            if line == "-- THIS OPERATION CANNOT BE WRITTEN AS SQL" {
                // The description two lines above: `-- Raw Python operation` (Django 5.1 and later may prefix a symbol).
                let description =
                    index >= 2 && lines[index - 2].hasPrefix("-- ")
                    ? String(lines[index - 2].dropFirst(3)) : "an operation"
                if notSQL.isEmpty { sqlBeforeCode = sqlSoFar && atomic }
                notSQL.append(description)
            } else if !line.hasPrefix("--"), !["BEGIN;", "COMMIT;"].contains(line.uppercased()) {
                sqlSoFar = true
            }
        }
        return MigrationSQL(atomic: atomic, notSQL: notSQL, sqlBeforeCode: sqlBeforeCode)
    }
}
