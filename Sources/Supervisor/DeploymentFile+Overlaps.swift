import ConfigFile
import Workers

extension DeploymentFile {
    /// Two sets that would pause the same thing: one crontab (a user's, on one host) or one supervisor program. The
    /// second pause would fail half-way through the run ("already holds lines paused…"), after the sets before it
    /// changed; so it is refused here, before anything changes, naming both entries. (Two names of one host, an
    /// alias beside its address, cannot be told apart here; the half-way failure still rolls everything back.)
    static func refuseOverlaps(_ sets: [WorkerSetSpec], hosts: [String?], _ document: ConfigDocument)
        throws(ConfigError)
    {
        var seen: [String: Int] = [:]
        for (index, set) in sets.enumerated() {
            let place = hosts[index].map { " on \($0)" } ?? ""
            let keys: [(key: String, field: String, what: String)]
            switch set {
            case .crontab(let crontab):
                let user = crontab.user ?? ""
                keys = [
                    (
                        "crontab\u{0}\(hosts[index] ?? "")\u{0}\(user)", "user",
                        "the crontab of \(crontab.user ?? "the current user")\(place)"
                    )
                ]
            case .supervisor(let supervisor):
                let daemon = "\(hosts[index] ?? "")\u{0}\(supervisor.socket ?? "")\u{0}\(supervisor.config ?? "")"
                keys = supervisor.programs.map {
                    ("supervisor\u{0}\(daemon)\u{0}\($0)", "programs", "program \($0)\(place)")
                }
            case .command:
                keys = []
            }
            for (key, field, what) in keys {
                if let first = seen[key] {
                    let table = (document.arrayTables["workers"] ?? [])[index]
                    let reader = ConfigTableReader(table, file: document.file, context: "workers[\(index + 1)]")
                    throw reader.error(
                        field,
                        "\(what) is already paused by workers[\(first + 1)]: one set each (give all its patterns or programs in one entry)"
                    )
                }
                seen[key] = index
            }
        }
    }
}
