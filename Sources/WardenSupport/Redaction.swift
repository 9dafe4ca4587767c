/// Hides secrets in text that pgwarden shows: `password=…`, `PGPASSWORD=…`, `--password …`,
/// `://user:secret@host`. Connection strings are redacted by parsing them (``connectionString(_:)``).
package enum Redaction {
    /// `text` with the values of password-like settings replaced by `***`.
    package static func redact(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let match = nextSecret(in: rest) {
            output += rest[..<match.lowerBound] + "***"
            rest = rest[match.upperBound...]
        }
        return output + rest
    }

    private static let keys = [
        "password=", "passwd=", "pgpassword=", "secret=", "token=", "--password ", "--passwd ", "--secret ", "--token ",
    ]

    /// The range of the next secret value in `text`.
    private static func nextSecret(in text: Substring) -> Range<Substring.Index>? {
        let lower = text.lowercased()
        var best: (offset: Int, length: Int)?
        for key in keys {
            guard let range = lower.firstRange(of: key) else { continue }
            let start = lower.distance(from: lower.startIndex, to: range.upperBound)
            let value = lower[range.upperBound...].prefix { !$0.isWhitespace && $0 != "&" && $0 != ";" }
            if !value.isEmpty, best.map({ start < $0.offset }) ?? true { best = (start, value.count) }
        }
        // postgresql://user:secret@host
        if let scheme = lower.firstRange(of: "://") {
            let authority = lower[scheme.upperBound...].prefix { !$0.isWhitespace && $0 != "/" }
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                let start = lower.distance(from: lower.startIndex, to: lower.index(after: colon))
                let length = lower.distance(from: lower.index(after: colon), to: at)
                if length > 0, best.map({ start < $0.offset }) ?? true { best = (start, length) }
            }
        }
        guard let best else { return nil }
        let start = text.index(text.startIndex, offsetBy: best.offset)
        return start..<text.index(start, offsetBy: best.length)
    }
}
