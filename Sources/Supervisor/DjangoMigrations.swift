import WardenSupport

/// `django_migrations` as read before or after a run: the migrations recorded, in the order they were applied.
/// Pure: the post-check says what a run changed from two of these.
struct DjangoMigrations: Sendable, Equatable {
    /// `app.name` of each recorded migration, in the order they were applied.
    var recorded: [String]

    init(recorded: [String]) {
        self.recorded = recorded
    }

    /// From `sql/django_migrations.sql`'s column: lines `ID APP.NAME`, ID zero-padded (sorted by it).
    init(column: String) {
        recorded = column.split(whereSeparator: \.isNewline).compactMap { line in
            guard let space = line.firstIndex(of: " ") else { return nil }
            return String(line[line.index(after: space)...])
        }
    }

    /// Per app, in the order apps first appear, the migration applied last: `shop: 0004_fill_note`.
    var latest: [(app: String, name: String)] {
        var result: [(app: String, name: String)] = []
        for label in recorded {
            let parts = label.split(separator: ".", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let (app, name) = (String(parts[0]), String(parts[1]))
            if let index = result.firstIndex(where: { $0.app == app }) {
                result[index].name = name
            } else {
                result.append((app, name))
            }
        }
        return result
    }

    /// What a run changed: the migrations recorded after and not before (`applied`), and those no longer recorded.
    static func change(before: DjangoMigrations?, after: DjangoMigrations?) -> (applied: [String], unapplied: [String])
    {
        let old = before?.recorded ?? []
        let new = after?.recorded ?? []
        return (new.filter { !old.contains($0) }, old.filter { !new.contains($0) })
    }

    /// The post-check's line, or `nil` when there is no `django_migrations` table before or after.
    static func summary(before: DjangoMigrations?, after: DjangoMigrations?) -> String? {
        guard before != nil || after != nil else { return nil }
        let (applied, unapplied) = change(before: before, after: after)
        var parts: [String] = []
        if !applied.isEmpty { parts.append("applied " + applied.joined(separator: ", ")) }
        if !unapplied.isEmpty { parts.append("unapplied " + unapplied.joined(separator: ", ")) }
        if parts.isEmpty { parts.append("unchanged") }
        let apps = Set((before?.latest ?? []).map(\.app) + (after?.latest ?? []).map(\.app))
        let latest = { (state: DjangoMigrations?, app: String) -> String in
            state?.latest.first { $0.app == app }?.name ?? "none"
        }
        let order = ((before?.latest ?? []) + (after?.latest ?? [])).map(\.app)
        var seen: Set<String> = []
        let moves = order.filter { apps.contains($0) && seen.insert($0).inserted }.compactMap { app -> String? in
            let (from, to) = (latest(before, app), latest(after, app))
            return from == to ? nil : "\(app): \(from) → \(to)"
        }
        return "django_migrations: " + parts.joined(separator: "; ")
            + (moves.isEmpty ? "" : " (" + moves.joined(separator: ", ") + ")")
    }

    /// The report's value: per app its latest migration.
    var json: JSONValue {
        .object(latest.map { ($0.app, JSONValue.string($0.name)) })
    }
}
