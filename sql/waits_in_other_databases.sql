-- The databases other than the connection's where backends wait on a heavyweight lock, and
-- how many: run only when nothing waits in the connection's database, so that `pgwarden locks`
-- can say where the waits are. Like waiting_backends.sql it reads the per-backend accessors
-- only (no pg_locks, no pg_blocking_pids, no pg_stat_activity rows); a backend outside a
-- transaction cannot wait on a lock and is passed over on its transaction start, unless it reads
-- no statement start either and its role or database starts sessions with track_activities off
-- (as in waiting_backends.sql). A hint only: a waiter in its deadlock check, which reads LWLock or
-- nothing for that instant, is not counted.
WITH untracked AS MATERIALIZED (
    SELECT setting.setdatabase, setting.setrole
    FROM pg_db_role_setting AS setting
    WHERE EXISTS (
        SELECT FROM unnest(setting.setconfig) AS config(entry)
        WHERE config.entry ~* '^track_activities=(of|off|f|fa|fal|fals|false|n|no|0)$'
    )
)
SELECT d.datname, count(*)::int4 AS waiting
FROM pg_stat_get_backend_idset() AS backend(id)
JOIN pg_database AS d ON d.oid = pg_stat_get_backend_dbid(backend.id)
WHERE (pg_stat_get_backend_xact_start(backend.id) IS NOT NULL
       OR (pg_stat_get_backend_activity_start(backend.id) IS NULL
           AND (SELECT EXISTS (SELECT FROM untracked))  -- once per query, not per backend
           AND EXISTS (
               SELECT FROM untracked
               WHERE untracked.setrole IN (0, pg_stat_get_backend_userid(backend.id))
                 AND untracked.setdatabase IN (0, pg_stat_get_backend_dbid(backend.id))
           )))
  AND pg_stat_get_backend_wait_event_type(backend.id) = 'Lock'
  AND d.datname <> current_database()
GROUP BY d.datname
ORDER BY count(*) DESC, d.datname;
