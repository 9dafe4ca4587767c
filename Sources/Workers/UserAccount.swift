#if canImport(Glibc)
    import Glibc
#endif

/// A local user, as the password database knows it.
package struct UserAccount: Sendable, Equatable {
    package let name: String
    package let uid: UInt32

    /// Looks `name` up.
    ///
    /// - Throws: ``WorkersError`` `unknownUser` when there is no such user.
    package init(named name: String) throws(WorkersError) {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else {
            throw WorkersError(.unknownUser, "unknown user \(quoted(name))")
        }
        self.name = name
        uid = entry.pw_uid
    }

    /// The user this process runs as.
    package static func current() throws(WorkersError) -> UserAccount {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else {
            throw WorkersError(.unknownUser, "the current user (uid \(getuid())) has no name")
        }
        return try UserAccount(named: String(cString: name))
    }
}
