/// Connection strings redacted by parsing them the way libpq does, not by pattern alone.
///
///     Redaction.connectionString("host=db password='a b' user=app")   // "host=db password=*** user=app"
///     Redaction.connectionString("postgresql://app:pw@db/x")           // "postgresql://app:***@db/x"
///     Redaction.connectionString("host=127.0.0.1 S3cr3tPw")            // "(malformed connection string, not shown)"
extension Redaction {
    /// What is shown instead of a connection string that cannot be parsed: any word of it may be a password.
    package static let malformedConnectionString = "(malformed connection string, not shown)"

    /// The keys whose values are secrets in a `key=value` string or a URI's query.
    static let secretKeys: Set<String> = ["password", "sslpassword"]

    /// A connection string as pgwarden may show it: passwords as `***`, a malformed string wholesale.
    package static func connectionString(_ text: String) -> String {
        if ConnectionURI.hasScheme(text) { return ConnectionURI(text)?.redacted ?? malformedConnectionString }
        guard let pairs = KeyValueConnectionString.parse(text) else { return malformedConnectionString }
        return pairs.map { secretKeys.contains($0.key) ? "\($0.key)=***" : "\($0.key)=\($0.rawValue)" }
            .joined(separator: " ")
    }

    /// The secret values in a connection string (raw and decoded); `nil` when it cannot be parsed,
    /// and every part of it must be treated as secret.
    package static func secrets(inConnectionString text: String) -> [String]? {
        if ConnectionURI.hasScheme(text) { return ConnectionURI(text)?.secrets }
        guard let pairs = KeyValueConnectionString.parse(text) else { return nil }
        return pairs.filter { secretKeys.contains($0.key) && !$0.value.isEmpty }.flatMap { [$0.value, $0.rawValue] }
    }

    /// libpq's message about `connectionString`, safe to show: every secret of the string is hidden;
    /// when the string could not be parsed (`parseFailed`), so is every quoted piece of it that is
    /// not a libpq keyword or a single punctuation mark (libpq quotes the text it could not parse:
    /// `invalid percent-encoded token: "S3cr3tPw%zz"`), and every word of the string.
    package static func libpqMessage(_ message: String, connectionString: String?, parseFailed: Bool) -> String {
        var text = message
        if let connectionString {
            let secrets = secrets(inConnectionString: connectionString)
            var hidden = secrets ?? []
            if secrets == nil || parseFailed {
                hidden += connectionString.split(whereSeparator: \.isWhitespace).map(String.init).filter {
                    $0.count >= 3
                }
                hidden.append(connectionString)
            }
            text = scrub(text, hiding: hidden)
        }
        if parseFailed { text = hideQuotedPieces(text) }
        return redact(text)
    }

    /// `text` with every occurrence of each of `secrets` (longest first) replaced by `***`.
    package static func scrub(_ text: String, hiding secrets: [String]) -> String {
        var result = text
        for secret in Set(secrets).sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            result = result.replacing(secret, with: "***")
        }
        return result
    }

    /// The connection keywords libpq may quote in its messages: not secrets.
    private static let libpqKeywords: Set<String> = [
        "host", "hostaddr", "port", "dbname", "user", "passfile", "channel_binding", "connect_timeout",
        "client_encoding", "options", "application_name", "fallback_application_name", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication", "sslmode",
        "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir",
        "sslsni", "requirepeer", "require_auth", "ssl_min_protocol_version", "ssl_max_protocol_version",
        "gssencmode", "krbsrvname", "gsslib", "gssdelegation", "service", "target_session_attrs",
        "load_balance_hosts", "password", "sslpassword",
    ]

    /// Quoted pieces hidden, but for keywords, punctuation, and (after `invalid connection option`,
    /// where libpq names a key) a lowercase word that reads as a misspelt keyword: `"hots"`.
    private static func hideQuotedPieces(_ text: String) -> String {
        let namesKey = text.hasPrefix("invalid connection option \"")
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "\"") {
            result += rest[...open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "\"") else {
                return result + "***"
            }
            let piece = rest[afterOpen..<close]
            let harmless =
                libpqKeywords.contains(String(piece))
                || (piece.count == 1 && piece.allSatisfy { $0.isPunctuation || $0.isSymbol })
                || (namesKey && piece.count <= 24 && piece.allSatisfy { ("a"..."z").contains($0) || $0 == "_" })
            result += (harmless ? String(piece) : "***") + "\""
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}

/// `key=value` pairs as libpq reads them: whitespace between pairs, optional spaces around `=`,
/// values bare (with `\` escapes) or single-quoted.
enum KeyValueConnectionString {
    struct Pair {
        let key: String
        let value: String
        /// The value as written (quotes and escapes included).
        let rawValue: String
    }

    static func parse(_ text: String) -> [Pair]? {
        var pairs: [Pair] = []
        var rest = Substring(text)
        while true {
            rest = rest.drop(while: \.isWhitespace)
            guard !rest.isEmpty else { return pairs }
            let key = rest.prefix { !$0.isWhitespace && $0 != "=" }
            guard !key.isEmpty else { return nil }
            rest = rest.dropFirst(key.count).drop(while: \.isWhitespace)
            guard rest.first == "=" else { return nil }
            rest = rest.dropFirst().drop(while: \.isWhitespace)
            guard let (value, raw) = value(&rest) else { return nil }
            pairs.append(Pair(key: String(key), value: value, rawValue: raw))
        }
    }

    private static func value(_ rest: inout Substring) -> (String, String)? {
        let start = rest.startIndex
        var value = ""
        if rest.first == "'" {
            rest = rest.dropFirst()
            while let character = rest.first {
                rest = rest.dropFirst()
                if character == "'" { return (value, String(rest.base[start..<rest.startIndex])) }
                if character == "\\" {
                    guard let escaped = rest.first else { return nil }
                    value.append(escaped)
                    rest = rest.dropFirst()
                } else {
                    value.append(character)
                }
            }
            return nil
        }
        while let character = rest.first, !character.isWhitespace {
            rest = rest.dropFirst()
            if character == "\\", let escaped = rest.first {
                value.append(escaped)
                rest = rest.dropFirst()
            } else {
                value.append(character)
            }
        }
        return (value, String(rest.base[start..<rest.startIndex]))
    }
}

/// A `postgresql://` or `postgres://` URI, parsed as far as redaction needs:
/// `scheme://[user[:password]@][host[:port][,…]][/dbname][?key=value&…]`.
struct ConnectionURI {
    /// The URI with its password and secret query values as `***`.
    let redacted: String
    /// The password and secret query values, raw and percent-decoded.
    let secrets: [String]

    static func hasScheme(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// `nil` when `text` is not a URI, or is a malformed one (an unclosed `[`, a bad `%` escape,
    /// a query parameter without one `=`).
    init?(_ text: String) {
        guard Self.hasScheme(text), let schemeEnd = text.firstRange(of: "://")?.upperBound else { return nil }
        var rest = text[schemeEnd...]
        var output = String(text[..<schemeEnd])
        var secrets: [String] = []
        if let at = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[at] == "@" {
            let userinfo = rest[..<at]
            if let colon = userinfo.firstIndex(of: ":") {
                let password = userinfo[userinfo.index(after: colon)...]
                guard Self.percentDecoded(userinfo[..<colon]) != nil, let decoded = Self.percentDecoded(password)
                else { return nil }
                secrets += [String(password), decoded]
                output += userinfo[..<colon] + ":***@"
            } else {
                guard Self.percentDecoded(userinfo) != nil else { return nil }
                output += userinfo + "@"
            }
            rest = rest[rest.index(after: at)...]
        }
        let hostEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        guard Self.validHosts(rest[..<hostEnd]) else { return nil }
        output += rest[..<hostEnd]
        rest = rest[hostEnd...]
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        guard Self.percentDecoded(rest[..<queryStart]) != nil else { return nil }
        output += rest[..<queryStart]
        if queryStart < rest.endIndex {
            var parameters: [String] = []
            for parameter in rest[rest.index(after: queryStart)...].split(separator: "&") {
                let parts = parameter.split(separator: "=", omittingEmptySubsequences: false)
                guard parts.count == 2, let key = Self.percentDecoded(parts[0]),
                    let value = Self.percentDecoded(parts[1])
                else { return nil }
                let secret = Redaction.secretKeys.contains(key)
                if secret { secrets += [String(parts[1]), value] }
                parameters.append(secret ? "\(parts[0])=***" : String(parameter))
            }
            output += "?" + parameters.joined(separator: "&")
        }
        redacted = output
        self.secrets = secrets.filter { !$0.isEmpty }
    }

    /// Comma-separated `host[:port]`, a host possibly `[IPv6]`.
    private static func validHosts(_ text: Substring) -> Bool {
        text.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { (host: Substring) in
            guard host.first == "[" else { return !host.contains("[") && !host.contains("]") }
            guard let close = host.firstIndex(of: "]"), host.index(after: host.startIndex) < close else {
                return false
            }
            let after = host[host.index(after: close)...]
            return after.isEmpty || (after.first == ":" && after.dropFirst().allSatisfy(\.isASCII))
        }
    }

    /// `%XX` escapes decoded; `nil` for a malformed escape, `%00`, or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.first {
            utf8 = utf8.dropFirst()
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16),
                value != 0
            else { return nil }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
