import FoundationEssentials

/// The crontabs that hold pgwarden's pause markers, found without a state directory: so that `status`
/// and `recover` can say where a pause was made when they are not told.
package enum CrontabMarkers {
    /// One crontab with paused lines.
    package struct PausedCrontab: Sendable, Equatable {
        package let user: String
        package let pauseIDs: [String]
        /// The state directory that paused it last, as recorded beside the crontab locks.
        package let stateDirectory: String?
    }

    /// cron's spool (Debian's): readable by root.
    static let spool = "/var/spool/cron/crontabs"

    /// Whether cron's spool can be read: else only the current user's own crontab is searched for markers.
    package static var canReadEveryCrontab: Bool {
        (try? FileManager.default.contentsOfDirectory(atPath: spool)) != nil
    }

    /// Every crontab pgwarden can read that holds pause markers: each in cron's spool when readable (as
    /// root), else the current user's own (``canReadEveryCrontab`` says which).
    package static func pausedCrontabs() async -> [PausedCrontab] {
        var texts: [(String, [UInt8])] = []
        if let users = try? FileManager.default.contentsOfDirectory(atPath: spool) {
            for user in users.sorted() {
                if let data = FileManager.default.contents(atPath: spool + "/" + user) {
                    texts.append((user, Array(data)))
                }
            }
        } else if let user = try? UserAccount.current().name, let text = try? await Crontab(user: user).read() {
            texts.append((user, text))
        }
        return texts.compactMap { user, text in
            let ids = CrontabPause.pauseIDs(in: text)
            guard !ids.isEmpty else { return nil }
            return PausedCrontab(
                user: user,
                pauseIDs: ids.sorted(),
                stateDirectory: CrontabUserLock.lastPause(of: user)
            )
        }
    }
}
