import FoundationEssentials
import WardenSupport

/// A pause this host was asked to resume before it was ever made here (`recover` on the coordinator reached the host
/// ahead of a pause still on its way, over a slow link): kept in the pause's directory (`sets/<pause id>`), written
/// durably before the resume answers, so that the pause, if it arrives after all, is refused and touches nothing.
///
/// Bounded: once the pause's own deadline (its `--not-after`) has passed no pause can land, and the tombstone may go;
/// without a deadline it is kept ``retention``.
package struct PauseTombstone: Codable, Sendable, Equatable {
    package var pauseID: String
    /// When the resume came.
    package var madeAt: Date
    /// The pause's deadline, as the resume gave it: past it, the pause is refused anyway.
    package var notAfter: Date?

    package init(pauseID: String, madeAt: Date, notAfter: Date?) {
        self.pauseID = pauseID
        self.madeAt = madeAt
        self.notAfter = notAfter
    }

    /// The tombstone's file, in the pause's directory.
    package static let fileName = "cancelled.json"
    /// How long a tombstone without a deadline is kept: a week.
    package static let retention: TimeInterval = 7 * 24 * 3600
    /// The remote answer's state for a pause cancelled before it arrived.
    package static let state = "cancelled"

    /// When the tombstone may go: after the pause's deadline, else ``retention`` after it was made.
    package var expiresAt: Date { notAfter ?? madeAt.addingTimeInterval(Self.retention) }

    /// Whether no pause `pauseID` can land any more at `now`, so that the tombstone may be removed.
    package func isExpired(at now: Date) -> Bool { now > expiresAt }
}

/// What a host does with a remote `workers set pause` or `resume`: decided from what its state directory holds for
/// the pause, changed by the executor (``RemoteSet``) under the pause's own lock, so that a pause and a resume of
/// one pause never cross.
package enum RemoteSetDecision: Equatable, Sendable {
    /// Refused: it arrived after its deadline (the coordinator gave up on it).
    case refuseLate
    /// Refused: a resume reached this host first (`recover`); nothing is paused.
    case refuseCancelled
    /// In force already: answered again, nothing changed.
    case alreadyPaused
    /// Pause the set.
    case pause
    /// Resume the set.
    case resume
    /// Was made here and resumed already (by this host's own `recover`, say).
    case resumedAlready
    /// Never made here: record a tombstone (if there is none yet), then answer ``PauseTombstone/state``.
    case cancel

    /// A pause of a pause with deadline `notAfter`, at `now`.
    package static func pause(paused: Bool, tombstone: PauseTombstone?, notAfter: Date?, now: Date) -> Self {
        if let notAfter, now > notAfter { return .refuseLate }
        if tombstone != nil { return .refuseCancelled }
        return paused ? .alreadyPaused : .pause
    }

    /// A resume: `made` when the pause was ever journaled here (a last record of it is kept after its resume).
    package static func resume(paused: Bool, made: Bool, tombstone: PauseTombstone?) -> Self {
        if paused { return .resume }
        if tombstone != nil { return .cancel }
        return made ? .resumedAlready : .cancel
    }
}
