-- Claims one session of the supervised migration for this run, so that a `pgwarden guard` leaves it
-- alone: a session-level advisory lock, held by the upgrade's own session (pgwarden's role) until that
-- session ends, whose key derives from the claimed session's pid and backend_start in pgwarden's own
-- namespace (the words hashed). A guard reads it back with sql/upgrade_claims.sql, and trusts it only
-- when the holder's role is one of its [protect] upgrade_roles: pg_locks shows every session's locks
-- to every role, but a lock is held by the role that took it, which no other role can forge. A claim
-- on a session that has ended protects nothing: its successor on that pid has another backend_start.
-- pg_try_advisory_lock never waits. $1: the pid. $2: its backend_start, as this session printed it.
SELECT pg_try_advisory_lock(
           hashtextextended(format('pgwarden migration claim %s %s', $1::int4, extract(epoch FROM $2::timestamptz)), 0)
       ) AS claimed;
