import Enforcement
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Where audit lines go: standard output, or a file opened for appending (0600).
public final class AuditLog: AuditSink {
    private let descriptor: Int32
    private let ownsDescriptor: Bool

    /// Standard output.
    public static let standardOutput = AuditLog(descriptor: STDOUT_FILENO, ownsDescriptor: false)

    private init(descriptor: Int32, ownsDescriptor: Bool) {
        self.descriptor = descriptor
        self.ownsDescriptor = ownsDescriptor
    }

    /// Opens `path` for appending, creating it 0600.
    public convenience init(appendingTo path: String) throws(GuardError) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw GuardError("cannot open the audit log \(path): \(String(cString: strerror(errno)))")
        }
        self.init(descriptor: descriptor, ownsDescriptor: true)
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// Appends one record as one line, in one write, so that lines never interleave.
    @discardableResult
    public func append(_ line: JSONValue) -> Bool {
        let bytes = Array((line.serialized() + "\n").utf8)
        return bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return false }
                offset += written
            }
            return true
        }
    }
}
