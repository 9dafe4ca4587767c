import WardenSupport

/// An error from libpq or from the server, with the server's own fields.
///
/// Modelled on the error fields of the PostgreSQL protocol: ``sqlState`` names the
/// condition (for example `42501`, insufficient privilege), ``detail`` and ``hint``
/// carry the server's explanation when it gave one.
package struct PostgresError: Error, Sendable, Hashable {
    /// What kind of failure this is.
    package let code: Code
    /// The primary message: libpq's or the server's, on one line.
    package let message: String
    /// The five-character SQLSTATE, when the server reported one.
    package let sqlState: String?
    /// The server's `DETAIL`, when given.
    package let detail: String?
    /// The server's `HINT`, when given.
    package let hint: String?

    /// Creates an error; the texts pass through ``WardenSupport/Redaction`` (a server or libpq
    /// message may quote a password).
    package init(
        code: Code,
        message: String,
        sqlState: String? = nil,
        detail: String? = nil,
        hint: String? = nil
    ) {
        self.code = code
        self.message = Redaction.redact(message)
        self.sqlState = sqlState
        self.detail = detail.map(Redaction.redact)
        self.hint = hint.map(Redaction.redact)
    }
}

extension PostgresError {
    /// An extensible set of failure kinds.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Storage: Hashable, Sendable {
            case invalidConnectionString
            case connectionFailed
            case connectionLost
            case server
            case unexpectedResult
        }

        private let storage: Storage

        private init(_ storage: Storage) {
            self.storage = storage
        }

        /// The connection string could not be parsed.
        package static var invalidConnectionString: Self { .init(.invalidConnectionString) }
        /// The server could not be reached, or refused the connection.
        package static var connectionFailed: Self { .init(.connectionFailed) }
        /// An established connection broke.
        package static var connectionLost: Self { .init(.connectionLost) }
        /// The server answered a statement with an error; see ``PostgresError/sqlState``.
        package static var server: Self { .init(.server) }
        /// The server's answer did not have the expected shape.
        package static var unexpectedResult: Self { .init(.unexpectedResult) }

        package var description: String {
            switch storage {
            case .invalidConnectionString: "invalid connection string"
            case .connectionFailed: "connection failed"
            case .connectionLost: "connection lost"
            case .server: "server error"
            case .unexpectedResult: "unexpected result"
            }
        }
    }
}

extension PostgresError {
    /// Well-known SQLSTATE values that pgwarden reacts to.
    package enum SQLState {
        /// `42501`: the role lacks a privilege.
        package static let insufficientPrivilege = "42501"
        /// `57014`: the statement was cancelled (including by `statement_timeout`).
        package static let queryCanceled = "57014"
        /// `55P03`: `lock_timeout` expired, or `NOWAIT` could not lock.
        package static let lockNotAvailable = "55P03"
        /// `3D000`: the database does not exist.
        package static let invalidCatalogName = "3D000"
        /// `26000`: no prepared statement of that name exists on the session.
        package static let invalidSQLStatementName = "26000"
        /// `42P05`: a prepared statement of that name already exists on the session.
        package static let duplicatePreparedStatement = "42P05"
    }

    /// True when the server refused the statement for want of a privilege.
    package var isInsufficientPrivilege: Bool { sqlState == SQLState.insufficientPrivilege }
}

extension PostgresError: CustomStringConvertible {
    package var description: String {
        var text = message
        if let detail { text += " (\(detail))" }
        return text
    }
}
