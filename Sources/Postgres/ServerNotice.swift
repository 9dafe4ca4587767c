import CLibPQ
import Synchronization

/// A notice or warning the server sent alongside a statement's result.
package struct ServerNotice: Sendable, Hashable {
    /// `WARNING`, `NOTICE`, `INFO`, …
    package let severity: String
    /// The primary message.
    package let message: String
}

/// Collects the notices libpq receives on one connection, instead of letting
/// libpq print them to standard error.
final class NoticeBuffer: Sendable {
    private let notices = Mutex<[ServerNotice]>([])

    func append(_ notice: ServerNotice) {
        notices.withLock { $0.append(notice) }
    }

    func removeAll() {
        notices.withLock { $0.removeAll() }
    }

    func drain() -> [ServerNotice] {
        notices.withLock { notices in
            defer { notices.removeAll() }
            return notices
        }
    }
}

/// libpq's notice receiver: a plain C function, handed the buffer as its argument.
let noticeReceiver: PQnoticeReceiver = { argument, result in
    guard let argument, let result else { return }
    let buffer = Unmanaged<NoticeBuffer>.fromOpaque(argument).takeUnretainedValue()
    let field = { (code: UInt8) -> String in
        PQresultErrorField(result, Int32(code)).map { String(cString: $0) } ?? ""
    }
    buffer.append(ServerNotice(severity: field(UInt8(ascii: "V")), message: field(UInt8(ascii: "M"))))
}
