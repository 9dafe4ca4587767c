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
       a.xact_start::text AS xact_start_text
FROM pg_stat_get_activity($1::int4) AS a
LEFT JOIN pg_database AS d ON d.oid = a.datid;
