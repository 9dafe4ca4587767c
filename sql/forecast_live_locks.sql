-- Other sessions' locks on the relations a migration needs, held or waited for, right now, with who they are.
-- $1: oid[] of the relations. Reads pg_locks once (preflight only); a prepared transaction shows as pid 0.
SELECT n.nspname || '.' || c.relname AS relation,
       coalesce(l.pid, 0) AS pid,
       l.mode,
       l.granted,
       a.state,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS xact_seconds,
       a.application_name,
       a.query,
       a.backend_start::text AS backend_start,
       a.xact_start::text AS xact_start,
       a.query_start::text AS query_start,
       a.usename,
       a.backend_type
FROM pg_locks AS l
JOIN pg_class AS c ON c.oid = l.relation
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'relation'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.relation = ANY ($1::oid[])
  AND l.pid IS DISTINCT FROM pg_backend_pid()
ORDER BY c.relname, l.granted DESC, l.pid;
