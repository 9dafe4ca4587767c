-- Which of the given sessions a `pgwarden upgrade` has claimed as its migration's
-- (sql/claim_migration_session.sql), and who holds each claim: the guard protects a blocker whose
-- pid and backend_start a trusted role's session claims. The key is derived here, on the server,
-- from each session's own backend_start, exactly as the upgrade derived it; the holder's role is
-- its login role (pg_stat_activity.usesysid, readable by every role), not a name it chose.
-- Read only when some session blocks another; pgwarden keeps the claims of the roles it trusts.
-- $1: the blockers' pids.
WITH judged AS (
    SELECT a.pid,
           a.backend_start,
           hashtextextended(format('pgwarden migration claim %s %s', a.pid, extract(epoch FROM a.backend_start)), 0)
               AS claim_key
    FROM unnest($1::int4[]) AS p(pid)
    CROSS JOIN LATERAL pg_stat_get_activity(p.pid) AS a
    WHERE a.backend_start IS NOT NULL
)
SELECT j.pid,
       j.backend_start::text AS backend_start,
       h.pid AS holder_pid,
       pg_get_userbyid(h.usesysid) AS holder_role,
       h.application_name AS holder_application_name
FROM judged AS j
JOIN pg_locks AS l
  ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
 AND l.classid = ((j.claim_key >> 32) & 4294967295)::oid
 AND l.objid = (j.claim_key & 4294967295)::oid
CROSS JOIN LATERAL pg_stat_get_activity(l.pid) AS h
WHERE h.pid = l.pid;
