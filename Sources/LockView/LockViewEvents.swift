import FoundationEssentials
import Response
import WaitGraph

/// A key as the operator pressed it, decoded from the terminal's bytes.
public enum Key: Sendable, Equatable {
    case character(Character)
    case up, down, pageUp, pageDown, home, end
    case enter, escape, backspace
    /// A sequence the view does not use (function keys, …).
    case unknown
}

/// The terminal's size in character cells.
public struct ScreenSize: Sendable, Equatable {
    public var rows: Int
    public var columns: Int

    /// Creates a size.
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }
}

/// What the operator may send a session.
public enum SignalKind: String, Sendable, Equatable {
    case cancel, terminate
}

/// Who a session is, read from the server just before the operator is asked: what they judge.
public struct ShownSession: Sendable, Equatable {
    public var pid: Int32
    public var user: String?
    public var database: String?
    public var application: String?
    public var state: String?
    public var backendStart: Date?
    public var queryStart: Date?
    public var transactionStart: Date?
    /// `backend_start` and `xact_start` as PostgreSQL prints them: the signal is sent only if
    /// the session still has them, and still has ``state``.
    public var backendStartText: String? = nil
    public var transactionStartText: String? = nil
    /// A running `pgwarden upgrade`'s claim that this session is its migration's, if any.
    public var claim: UpgradeClaim? = nil

    /// Creates an identity.
    public init(
        pid: Int32,
        user: String? = nil,
        database: String? = nil,
        application: String? = nil,
        state: String? = nil,
        backendStart: Date? = nil,
        queryStart: Date? = nil,
        transactionStart: Date? = nil
    ) {
        self.pid = pid
        self.user = user
        self.database = database
        self.application = application
        self.state = state
        self.backendStart = backendStart
        self.queryStart = queryStart
        self.transactionStart = transactionStart
    }
}

/// Sessions waiting on a lock in a database the view does not show.
public struct WaitsElsewhere: Sendable, Equatable {
    public var database: String
    public var count: Int

    /// Creates a count.
    public init(database: String, count: Int) {
        self.database = database
        self.count = count
    }
}

/// Something that happened, for ``LockViewModel/update(_:)``.
public enum LockViewEvent: Sendable, Equatable {
    case key(Key)
    case resize(ScreenSize)
    /// A poll's snapshot and, when nothing waits in the view's scope, the waits of other databases.
    case snapshot(LockSnapshot, elsewhere: [WaitsElsewhere])
    case pollFailed(String)
    /// The clock, about once a second.
    case tick(Date)
    /// The identity of `pid` read for a confirmation; `nil` when the session has gone.
    case identity(pid: Int32, ShownSession?)
    /// A signal was sent (or not): `succeeded` and a line for the operator.
    case signalFinished(pid: Int32, succeeded: Bool, report: String)
}

/// What the effects layer is to do.
public enum LockViewAction: Sendable, Equatable {
    case redraw
    /// Read who `pid` is now, and report it with ``LockViewEvent/identity(pid:_:)``.
    case lookUpIdentity(pid: Int32, kind: SignalKind)
    /// Send `kind` to the session the operator confirmed, and report ``LockViewEvent/signalFinished(pid:succeeded:report:)``.
    case signal(ShownSession, SignalKind)
    case quit
}
