/// A statement that a ``Connection`` prepares on its first run and then runs by name.
///
/// The server parses and plans an unnamed statement at every run; a prepared one it plans
/// once per session (again only when something it reads changes). That is for the statements
/// a poll runs several times a second: planning `sql/lock_waits.sql` costs the server about
/// two thirds of what running it costs.
package struct PreparedStatement: Sendable, Hashable {
    /// The statement's name on the server: `pgwarden_` and a 64-bit FNV-1a hash of its text,
    /// so that one name means one text, also on a server session that a pooler shares
    /// between clients.
    package let name: String
    /// The statement; parameters are written `$1`, `$2`, ….
    package let sql: String

    /// Names `sql` by its text.
    package init(_ sql: String) {
        self.sql = sql
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        name = "pgwarden_" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
