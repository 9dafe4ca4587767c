-- Who may have cancelled or terminated the migration's statement, as far as pg_stat_activity shows
-- it, read once when the migration reports PostgreSQL's "canceling statement due to user request" or
-- "terminating connection due to administrator command" and this run sent no such signal: client
-- sessions whose current or last statement calls pg_cancel_backend or pg_terminate_backend, and
-- pgwarden's sessions of other processes (a guard: application_name pgwarden), most recent first.
-- Without pg_monitor, other roles' statements read <insufficient privilege> and cannot be matched.
-- $1: the pids to leave out (this run's own sessions).
SELECT a.pid,
       pg_get_userbyid(a.usesysid) AS usename,
       a.application_name,
       host(a.client_addr) AS client_addr,
       a.state,
       extract(epoch FROM statement_timestamp() - coalesce(a.state_change, a.query_start))::float8 AS seconds_ago,
       a.query ~* 'pg_(cancel|terminate)_backend' AS signals
FROM pg_stat_activity AS a
WHERE a.pid <> pg_backend_pid()
  AND a.pid <> ALL ($1::int4[])
  AND a.backend_type = 'client backend'
  AND (a.query ~* 'pg_(cancel|terminate)_backend' OR a.application_name = 'pgwarden')
ORDER BY coalesce(a.state_change, a.query_start) DESC NULLS LAST
LIMIT 5;
