import WardenSupport

/// Why pausing or resuming workers could not be done: an ``OperatorError`` with one of the codes below. Nothing was
/// changed when it is thrown.
package typealias WorkersError = OperatorError

extension OperatorError.Code {
    /// A `--match` is not a valid regular expression.
    package static let invalidPattern = Self("invalidPattern")
    /// A `--match` matches no job line of the crontab.
    package static let patternMatchesNothing = Self("patternMatchesNothing")
    /// The user does not exist.
    package static let unknownUser = Self("unknownUser")
    /// `crontab` failed or rejected the new crontab.
    package static let crontabFailed = Self("crontabFailed")
    /// The state directory or the journal could not be used.
    package static let stateDirectory = Self("stateDirectory")
    /// A pause is already recorded; it must be resumed first.
    package static let alreadyPaused = Self("alreadyPaused")
    /// Another pgwarden holds the state directory.
    package static let busy = Self("busy")
    /// The crontab kept changing under pgwarden's feet.
    package static let crontabChanging = Self("crontabChanging")
}
