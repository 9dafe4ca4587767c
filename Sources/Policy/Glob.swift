#if canImport(Glibc)
    import Glibc
#endif

/// A shell-style pattern (`*`, `?`, `[…]`), as `pg_dump*` in a policy's `[protect]`.
package struct Glob: Sendable, Equatable, CustomStringConvertible {
    /// The pattern as written.
    package let pattern: String

    /// Creates a glob.
    package init(_ pattern: String) {
        self.pattern = pattern
    }

    /// Whether `text` matches the whole pattern.
    package func matches(_ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    package var description: String { pattern }
}
