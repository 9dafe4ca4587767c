import Subprocess

extension PlatformOptions {
    /// Starts a child in a process group of its own: a signal to pgwarden's group (a hang-up when the
    /// SSH session drops, ^C on the terminal) never reaches it half-way, and its group can be signalled
    /// as one. For every program pgwarden runs: `crontab`, the migration, a reload command, Alembic.
    package static var ownProcessGroup: PlatformOptions {
        var options = PlatformOptions()
        options.processGroupID = 0
        return options
    }
}
