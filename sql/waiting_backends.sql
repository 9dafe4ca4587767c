-- Backends waiting on a heavyweight lock right now: the only query a poll runs while nothing waits.
-- It reads the per-backend status accessors, which build no pg_stat_activity rows, and touches
-- neither pg_locks nor pg_blocking_pids (both take every lock-manager partition lock).
-- A backend waits on a lock only inside a transaction, so a backend outside one (the idle
-- majority) is passed over on its transaction start alone, read from the backend status copy.
-- Not one whose track_activities is off ("disabled" in pg_stat_activity): it reports no
-- transaction start, nor the start of any statement. Neither does a backend that has run nothing
-- yet (a pool's spare connections), and asking all of those made the poll quadratic again; so a
-- backend with neither start is asked only when its role or database starts its sessions with
-- track_activities off (ALTER ROLE/DATABASE … SET, read from pg_db_role_setting, which any role
-- may read). A superuser's own SET track_activities = off in a session is not seen here: a single
-- look (LockInspector.pollReadingLocks) reads pg_locks and finds its waits.
-- Only the rest are asked for their wait event, which searches the whole proc array per call:
-- asking every backend made the idle poll quadratic in the number of sessions.
-- A waiter's wait event is not always Lock: once it has waited deadlock_timeout it runs the
-- deadlock check, which takes every lock-manager partition lock. While it waits for those it reads
-- LWLock/LockManager (often, when other sessions read pg_locks), and that counts as a lock wait
-- here (a backend taking a lock past those readers reads the same; lock_waits.sql then finds that
-- nothing waits). While it runs the check it reads no wait event at all, for an instant: a
-- repeated poll finds it on the next round; a single look (LockInspector.pollReadingLocks) does
-- not run this query.
-- $1: whether every transaction start can be read: the role reads every session
-- (pg_read_all_stats, which pg_monitor includes) and track_activities is on. Otherwise a start
-- may read NULL for a backend in a transaction, and every such backend is asked: another
-- role's then reads "<insufficient privilege>", and those are returned too, for
-- lock_waits.sql, which reads pg_locks, to decide whether they wait.
-- The ids of pg_stat_get_backend_idset() are numbered per major: up to 15, positions 1..N of this
-- transaction's backend status snapshot; in 16, each backend's BackendId; from 17, its ProcNumber
-- (from 0). Every pg_stat_get_backend_*(id) accessor of the same major takes the same number, so
-- this one text serves every major (ServerVersionTests checks the pairing on each).
WITH untracked AS MATERIALIZED (
    SELECT setting.setdatabase, setting.setrole
    FROM pg_db_role_setting AS setting
    WHERE EXISTS (
        SELECT FROM unnest(setting.setconfig) AS config(entry)
        WHERE config.entry ~* '^track_activities=(of|off|f|fa|fal|fals|false|n|no|0)$'
    )
)
SELECT pg_stat_get_backend_pid(backend.id) AS pid,
       pg_stat_get_backend_dbid(backend.id) AS database_oid
FROM pg_stat_get_backend_idset() AS backend(id)
WHERE CASE
          WHEN $1::bool
               AND pg_stat_get_backend_xact_start(backend.id) IS NULL
               AND (pg_stat_get_backend_activity_start(backend.id) IS NOT NULL
                    -- Once per poll, not per backend (a subplan run for each costs more than the rest):
                    OR NOT (SELECT EXISTS (SELECT FROM untracked))
                    OR NOT EXISTS (
                        SELECT FROM untracked
                        WHERE untracked.setrole IN (0, pg_stat_get_backend_userid(backend.id))
                          AND untracked.setdatabase IN (0, pg_stat_get_backend_dbid(backend.id))
                    ))
              THEN false
          ELSE CASE pg_stat_get_backend_wait_event_type(backend.id)
                   WHEN 'Lock' THEN true
                   WHEN 'LWLock' THEN pg_stat_get_backend_wait_event(backend.id) IN ('LockManager', 'lock_manager')
                   WHEN '<insufficient privilege>' THEN true
                   ELSE false
               END
      END;
