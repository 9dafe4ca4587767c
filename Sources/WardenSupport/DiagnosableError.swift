/// An error an operator reads: one line saying what went wrong, and where it helps, one line saying what to do.
///
/// The executable prints ``summary`` after `error:` and ``hint`` after `hint:`, and exits non-zero.
package protocol DiagnosableError: Error {
    /// What went wrong, on one line.
    var summary: String { get }
    /// What to do about it, on one line; `nil` when there is nothing useful to add.
    var hint: String? { get }
}

extension DiagnosableError {
    package var hint: String? { nil }
}
