#if canImport(Glibc)
    import Glibc
#endif

/// Reading a file descriptor to its end, whatever its size says (a pipe, standard input, a
/// `/proc` file that says 0): `FileHandle` is not in FoundationEssentials.
package enum DescriptorReading {
    /// Every byte until end of file; `nil` on a read error.
    package static func readToEnd(_ descriptor: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[..<count])
            } else if count == 0 {
                return bytes
            } else if errno != EINTR {
                return nil
            }
        }
    }

    /// The whole file at `path`; `nil` when it cannot be opened or read.
    package static func contents(of path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return readToEnd(descriptor)
    }
}
