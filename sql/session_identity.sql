-- Who a backend is, read just before the operator confirms a signal to it in `locks --watch`:
-- what the question shows, and what identifies the session beyond its pid (backend_start).
-- Times are epoch seconds, for the question; their text too, for the signal. $1: the backend's pid.
SELECT a.pid,
       pg_get_userbyid(a.usesysid) AS usename,
       d.datname,
       a.application_name,
       a.state,
       extract(epoch FROM a.backend_start)::float8 AS backend_start,
       extract(epoch FROM a.query_start)::float8 AS query_start,
       extract(epoch FROM a.xact_start)::float8 AS xact_start,
       -- Exactly as PostgreSQL prints them: what the identity-checked signal compares.
       a.backend_start::text AS backend_start_text,
       a.xact_start::text AS xact_start_text,
       -- A running `pgwarden upgrade` that claims this session as its migration's (sql/claim_migration_session.sql):
       -- the question says so, with the holder's role, for the operator to judge.
       claim.holder_pid,
       claim.holder_role,
       claim.holder_application_name
FROM pg_stat_get_activity($1::int4) AS a
LEFT JOIN pg_database AS d ON d.oid = a.datid
LEFT JOIN LATERAL (
    SELECT h.pid AS holder_pid,
           pg_get_userbyid(h.usesysid) AS holder_role,
           h.application_name AS holder_application_name
    FROM (SELECT hashtextextended(format('pgwarden migration claim %s %s', a.pid, extract(epoch FROM a.backend_start)), 0)
                 AS claim_key) AS k
    JOIN pg_locks AS l
      ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
     AND l.classid = ((k.claim_key >> 32) & 4294967295)::oid
     AND l.objid = (k.claim_key & 4294967295)::oid
    CROSS JOIN LATERAL pg_stat_get_activity(l.pid) AS h
    WHERE a.backend_start IS NOT NULL AND h.pid = l.pid
    LIMIT 1
) AS claim ON true;
