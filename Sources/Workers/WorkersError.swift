import WardenSupport

/// Why pausing or resuming workers could not be done: an ``OperatorError`` with one of the codes below. Nothing was
/// changed when it is thrown.
public typealias WorkersError = OperatorError

extension OperatorError.Code {
    /// A `--match` is not a valid regular expression.
    public static let invalidPattern = Self("invalidPattern")
    /// A `--match` matches no job line of the crontab.
    public static let patternMatchesNothing = Self("patternMatchesNothing")
    /// The user does not exist.
    public static let unknownUser = Self("unknownUser")
    /// `crontab` failed or rejected the new crontab.
    public static let crontabFailed = Self("crontabFailed")
    /// The state directory or the journal could not be used.
    public static let stateDirectory = Self("stateDirectory")
    /// A pause is already recorded; it must be resumed first.
    public static let alreadyPaused = Self("alreadyPaused")
    /// Another pgwarden holds the state directory.
    public static let busy = Self("busy")
    /// The crontab kept changing under pgwarden's feet.
    public static let crontabChanging = Self("crontabChanging")
}
