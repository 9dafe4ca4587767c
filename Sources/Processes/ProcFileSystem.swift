import FoundationEssentials
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Reads processes from `/proc`.
package enum ProcFileSystem {
    /// Every process readable now. Processes that end while being read are skipped.
    package static func snapshot() -> ProcessTable {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return ProcessTable(names.compactMap { Int32($0) }.compactMap(entry(for:)))
    }

    /// One process, or `nil` when it does not exist (or is a zombie: it has ended, only not been reaped).
    package static func entry(for pid: Int32) -> ProcessEntry? {
        guard let stat = read("/proc/\(pid)/stat"), let fields = statFields(stat), fields.state != "Z",
            let status = read("/proc/\(pid)/status"),
            let uidLine = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
            let uid = uidLine.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ UInt32($0) })
        else { return nil }
        let arguments = (contents(of: "/proc/\(pid)/cmdline") ?? Data()).split(
            separator: 0,
            omittingEmptySubsequences: false
        )
        let commandLine = arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            .trimmed { $0.isWhitespace && !$0.isNewline }
        return ProcessEntry(
            pid: pid,
            parentPID: fields.parentPID,
            uid: uid,
            startTime: fields.startTime,
            commandLine: commandLine
        )
    }

    /// The state and start time of `pid` (the liveness check's only read), if it exists.
    static func stateAndStart(of pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard let stat = read("/proc/\(pid)/stat"), let fields = statFields(stat) else { return nil }
        return (fields.state, fields.startTime)
    }

    /// The fields of `/proc/PID/stat` that matter here. The command name (field 2) may hold
    /// spaces and parentheses, so the fields are counted from its last `)`.
    static func statFields(_ stat: String) -> (state: Character, parentPID: Int32, startTime: UInt64)? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 4 is the parent pid; field 22 the start time.
        guard fields.count > 19, let state = fields[0].first, let parent = Int32(fields[1]),
            let start = UInt64(fields[19])
        else { return nil }
        return (state, parent, start)
    }

    private static func read(_ path: String) -> String? {
        contents(of: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole of a `/proc` file, read to its end. `FileManager.contents(atPath:)` reads what the
    /// file's size says, and a `/proc` file says 0: `/proc/net/tcp` then gives its first page only
    /// (26 sockets of the machine's), `/proc/PID/stat` and `environ` happen to come whole.
    static func contents(of path: String) -> Data? {
        DescriptorReading.contents(of: path).map { Data($0) }
    }
}
