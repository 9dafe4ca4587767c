#if canImport(Glibc)
    import Glibc
#endif

/// A shell-style pattern (`*`, `?`, `[…]`), as `pg_dump*` in a policy's `[protect]`.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    /// The pattern as written.
    public let pattern: String

    /// Creates a glob.
    public init(_ pattern: String) {
        self.pattern = pattern
    }

    /// Whether `text` matches the whole pattern.
    public func matches(_ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    public var description: String { pattern }
}
