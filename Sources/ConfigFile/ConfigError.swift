import WardenSupport

/// A configuration file is malformed: names the file, the line and, where there is one, the key.
package struct ConfigError: Error, Sendable, Equatable, DiagnosableError {
    /// The file.
    package let file: String
    /// The 1-based line.
    package let line: Int
    /// The key concerned, if any.
    package let key: String?
    /// What is wrong.
    package let message: String

    /// Creates an error.
    package init(file: String, line: Int, key: String? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `file:line: key: message`; a problem with the whole file (line 0) names the file alone.
    package var summary: String {
        (line > 0 ? "\(file):\(line): " : "\(file): ") + (key.map { "\(TerminalText.value($0)): " } ?? "") + message
    }
}
