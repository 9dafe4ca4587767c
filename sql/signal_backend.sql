-- Signals one backend, but only if it is still the session that was judged: one statement, so
-- nothing happens between the check and the signal but the signal itself.
-- $1: pid. $2: the action, 'cancel' or 'terminate'. $3: how long a terminate waits for the exit, ms.
-- $4: backend_start as judged (NULL: any session with that pid, as `pgwarden cancel PID` asks).
-- $5: xact_start as judged, or NULL when the decision did not depend on the transaction.
-- $6: state as judged, or NULL likewise.
-- $7: a waiter the session was judged to block, or NULL: then it must still block that waiter.
-- $8: query_start as judged, or NULL when not checked. When given, any statement since (even one that
--     leaves it idle in the same transaction, as ROLLBACK TO SAVEPOINT does, releasing locks) means it is
--     not the judged session.
-- No row: no such backend. `matches` false: it is not the judged session any more, and the other
-- columns say what it is now. `signalled` is NULL when nothing was sent.
WITH target AS (
    SELECT a.pid,
           a.backend_start,
           a.xact_start,
           a.state,
           a.query_start,
           a.backend_type,
           pg_get_userbyid(a.usesysid) AS usename,
           coalesce(r.rolsuper, false) AS superuser,
           -- The server's own rule: a superuser's session only a superuser may signal; another
           -- role's, a member of that role or of pg_signal_backend. Checked here, so that a refusal
           -- is an answer (naming the owner), not an error.
           CASE
               WHEN coalesce(r.rolsuper, false) THEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
               ELSE a.usesysid IS NULL
                    OR pg_has_role(current_user, a.usesysid, 'MEMBER')
                    OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')
           END AS permitted
    FROM pg_stat_get_activity($1::int4) AS a
    LEFT JOIN pg_roles AS r ON r.oid = a.usesysid
    WHERE a.pid = $1::int4
),
judged AS (
    SELECT t.*,
           t.backend_start IS NOT DISTINCT FROM coalesce($4::timestamptz, t.backend_start) AS same_session,
           ($5::timestamptz IS NULL OR t.xact_start IS NOT DISTINCT FROM $5::timestamptz) AS same_transaction,
           ($6::text IS NULL OR t.state IS NOT DISTINCT FROM $6::text) AS same_state,
           ($8::timestamptz IS NULL OR t.query_start IS NOT DISTINCT FROM $8::timestamptz) AS same_query,
           ($7::int4 IS NULL OR t.pid = ANY (pg_blocking_pids($7::int4))) AS still_blocks
    FROM target AS t
)
SELECT j.pid,
       j.backend_start::text AS backend_start,
       j.xact_start::text AS xact_start,
       j.state,
       j.query_start::text AS query_start,
       j.backend_type,
       j.usename,
       j.superuser,
       j.permitted,
       j.same_session,
       j.same_transaction,
       j.same_state,
       j.same_query,
       j.still_blocks,
       CASE
           WHEN NOT (j.same_session AND j.same_transaction AND j.same_state AND j.same_query AND j.still_blocks) THEN NULL
           WHEN NOT j.permitted THEN NULL
           WHEN $2::text = 'cancel' THEN pg_cancel_backend(j.pid)
           WHEN $2::text = 'terminate' THEN pg_terminate_backend(j.pid, $3::int8)
       END AS signalled
FROM judged AS j;
