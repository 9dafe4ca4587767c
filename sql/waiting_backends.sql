-- Backends waiting on a heavyweight lock right now: the only query a poll runs while nothing waits.
-- It reads the per-backend status accessors, which build no pg_stat_activity rows, and touches
-- neither pg_locks nor pg_blocking_pids (both take every lock-manager partition lock).
-- A role without pg_monitor reads "<insufficient privilege>" for other roles' backends: those
-- are returned too, and lock_waits.sql, which reads pg_locks, decides whether they wait.
SELECT pg_stat_get_backend_pid(backend.id) AS pid,
       pg_stat_get_backend_dbid(backend.id) AS database_oid
FROM pg_stat_get_backend_idset() AS backend(id)
WHERE pg_stat_get_backend_wait_event_type(backend.id) IN ('Lock', '<insufficient privilege>');
