import FoundationEssentials
import Response
import WaitGraph

/// A key as the operator pressed it, decoded from the terminal's bytes.
package enum Key: Sendable, Equatable {
    case character(Character)
    case up, down, pageUp, pageDown, home, end
    case enter, escape, backspace
    /// A sequence the view does not use (function keys, …).
    case unknown
}

/// The terminal's size in character cells.
package struct ScreenSize: Sendable, Equatable {
    package var rows: Int
    package var columns: Int

    /// Creates a size.
    package init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }
}

/// What the operator may send a session.
package enum SignalKind: String, Sendable, Equatable {
    case cancel, terminate
}

/// Who a session is, read from the server just before the operator is asked: what they judge.
package struct ShownSession: Sendable, Equatable {
    package var pid: Int32
    package var user: String?
    package var database: String?
    package var application: String?
    package var state: String?
    package var backendStart: Date?
    package var queryStart: Date?
    package var transactionStart: Date?
    /// `backend_start` and `xact_start` as PostgreSQL prints them: the signal is sent only if
    /// the session still has them, and still has ``state``.
    package var backendStartText: String? = nil
    package var transactionStartText: String? = nil
    /// A running `pgwarden upgrade`'s claim that this session is its migration's, if any.
    package var claim: UpgradeClaim? = nil

    /// Creates an identity.
    package init(
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
package struct WaitsElsewhere: Sendable, Equatable {
    package var database: String
    package var count: Int

    /// Creates a count.
    package init(database: String, count: Int) {
        self.database = database
        self.count = count
    }
}

/// Something that happened, for ``LockViewModel/update(_:)``.
package enum LockViewEvent: Sendable, Equatable {
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
package enum LockViewAction: Sendable, Equatable {
    case redraw
    /// Read who `pid` is now, and report it with ``LockViewEvent/identity(pid:_:)``.
    case lookUpIdentity(pid: Int32, kind: SignalKind)
    /// Send `kind` to the session the operator confirmed, and report ``LockViewEvent/signalFinished(pid:succeeded:report:)``.
    case signal(ShownSession, SignalKind)
    case quit
}
