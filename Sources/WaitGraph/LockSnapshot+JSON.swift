import FoundationEssentials
import WardenSupport

// The `--json` shape of DESIGN.md, fields in its order. Field names are stable;
// fields may be added. Optional fields are written as `null` rather than left
// out, so that every object of a kind has the same keys.

extension LockSnapshot {
    /// The snapshot as the `--json` object.
    package var json: JSONValue { json(serverVersion: nil) }

    /// The snapshot as the `--json` object of `pgwarden locks`, which states the server's version
    /// (`16.2`) after `taken_at`: what the server can report (`waitstart`, from 14) depends on it.
    package func json(serverVersion: String?) -> JSONValue {
        var members: [(String, JSONValue)] = [("taken_at", .string(Self.timestamp(takenAt)))]
        if let serverVersion { members.append(("server_version", .string(serverVersion))) }
        members += [
            ("waits", .array(waits.map(\.json))),
            ("blockers", .array(blockers.map(\.json))),
        ]
        if let hazards { members.append(("hazards", hazards.json)) }
        return .object(members)
    }

    /// `2026-11-29T18:00:00.123Z` (``UTCTimestamp``: no calendar machinery paged in for it).
    package static func timestamp(_ date: Date) -> String {
        UTCTimestamp.iso8601(date, fractionalSeconds: true)
    }
}

extension LockWait {
    /// The wait as an element of `waits`.
    package var json: JSONValue {
        .object([
            ("pid", .integer(pid)),
            ("blocked_by", .integers(blockedBy)),
            ("waiting_seconds", .seconds(waitingSeconds)),
            ("wait_event_type", .string(activity.waitEventType)),
            ("wait_event", .string(activity.waitEvent)),
            ("lock", lock.json),
            ("state", .string(activity.state)),
            ("xact_seconds", .seconds(activity.xactSeconds)),
            ("usename", .string(activity.usename)),
            ("datname", .string(activity.datname)),
            ("application_name", .string(activity.applicationName)),
            ("backend_type", .string(activity.backendType)),
            ("query", .string(activity.query)),
        ])
    }
}

extension Blocker {
    /// The blocker as an element of `blockers`.
    package var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("pid", .integer(pid)),
            ("blocks", .integers(blocks)),
            ("blocked_total", .integer(blockedTotal)),
            ("root", .bool(root)),
            ("state", .string(activity?.state)),
            ("xact_seconds", .seconds(activity?.xactSeconds)),
            ("state_seconds", .seconds(activity?.stateSeconds)),
            ("usename", .string(activity?.usename)),
            ("datname", .string(activity?.datname)),
            ("application_name", .string(activity?.applicationName)),
            ("backend_type", .string(activity?.backendType)),
            ("query", .string(activity?.query)),
            ("progress", progress?.json ?? .null),
        ]
        if pid == 0 {
            members.append(("prepared_gid", .string(preparedGIDs.first)))
            if preparedGIDs.count > 1 { members.append(("prepared_gids", .array(preparedGIDs.map(JSONValue.string)))) }
        }
        return .object(members)
    }
}

extension LockTarget {
    /// The lock as `{"locktype", "mode", "relation", …}`, with the other parts of its tag that are set.
    package var json: JSONValue {
        .object(
            [("locktype", .string(locktype)), ("mode", .string(mode)), ("relation", .string(relation))]
                + details.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }
        )
    }
}
