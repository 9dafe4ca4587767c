import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's `crontab -l` writes a carriage return as the two characters `\r`, so a listing cannot
/// tell a CR from a backslash followed by `r`. When a listing holds `\r`, the exact bytes are taken
/// from the spool file, read only, and only when the listing is exactly what `crontab -l` makes of
/// them (the spool's own header lines aside); otherwise the listing is what pgwarden has.
enum CrontabListing {
    /// The spool file of `user`'s crontab (Debian's path).
    static func spoolPath(for user: String) -> String {
        "/var/spool/cron/crontabs/" + user
    }

    /// The crontab's exact bytes, given what `crontab -l` printed.
    static func exactBytes(listing: [UInt8], user: String) -> [UInt8] {
        guard listing.contains(UInt8(ascii: "\r")) || containsEscapedReturn(listing),
            let spool = FileManager.default.contents(atPath: spoolPath(for: user))
        else { return listing }
        var candidate = Array(spool)[...]
        for _ in 0...3 {
            if escaped(candidate) == listing { return Array(candidate) }
            guard candidate.first == UInt8(ascii: "#"), let end = candidate.firstIndex(of: UInt8(ascii: "\n"))
            else { break }
            candidate = candidate[(end + 1)...]
        }
        return listing
    }

    /// `bytes` as `crontab -l` lists them: each CR as `\r`.
    static func escaped(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for byte in bytes {
            if byte == UInt8(ascii: "\r") {
                result += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            } else {
                result.append(byte)
            }
        }
        return result
    }

    private static func containsEscapedReturn(_ bytes: [UInt8]) -> Bool {
        zip(bytes, bytes.dropFirst()).contains { $0 == UInt8(ascii: "\\") && $1 == UInt8(ascii: "r") }
    }
}
