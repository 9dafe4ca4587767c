import FoundationEssentials
import PGWardenSQL

extension Queries {
    /// The line of `sql/lock_waits.sql` that reads `pg_locks.waitstart`.
    static let waitStartColumn = "l.waitstart AS wait_start"

    /// `sql/lock_waits.sql` as a server of `serverVersion` can run it.
    ///
    /// `pg_locks.waitstart` exists from PostgreSQL 14. Older servers get the same text with
    /// the wait start read as NULL, and pgwarden measures the wait from the waiter's
    /// `state_change` instead. (Reading the column through `to_jsonb` on every server cost
    /// a fifth of the resolve.)
    static func lockWaits(serverVersion: Int) -> String {
        serverVersion >= 140000
            ? lockWaits
            : lockWaits.replacing(waitStartColumn, with: "NULL::timestamptz AS wait_start")
    }
}
