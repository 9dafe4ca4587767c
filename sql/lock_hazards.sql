-- What would make a migration wait, read when nobody waits yet (`pgwarden locks`): the sessions idle in
-- transaction that hold relation locks on this database's tables, and the oldest open transactions. pg_locks is
-- read only for the sessions idle in transaction (a lateral call per such session), never when there is none.
-- Activity comes from pg_stat_get_activity(NULL), what the pg_stat_activity view reads, without the view: a fresh
-- session (a one-shot `pgwarden locks`) expands the view's rule and joins pg_authid and pg_database first, which cost
-- it about 1.5 ms of server CPU, half of this statement's. usename then reads as lock_waits.sql reads it.
-- $1: the oldest transactions to list.
WITH idle AS (
    SELECT a.pid, pg_get_userbyid(a.usesysid) AS usename, a.application_name, a.state,
           extract(epoch FROM now() - a.xact_start)::float8 AS xact_seconds,
           extract(epoch FROM now() - a.state_change)::float8 AS state_seconds,
           left(a.query, 200) AS query
    FROM pg_stat_get_activity(NULL) AS a
    WHERE a.state LIKE 'idle in transaction%' AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
      AND a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT 'idle' AS kind, idle.*, held.relations, held.strongest
FROM idle
CROSS JOIN LATERAL (
    SELECT array_agg(DISTINCT n.nspname || '.' || c.relname ORDER BY n.nspname || '.' || c.relname) AS relations,
           (array_agg(l.mode ORDER BY CASE l.mode WHEN 'AccessExclusiveLock' THEN 8 WHEN 'ExclusiveLock' THEN 7
                                     WHEN 'ShareRowExclusiveLock' THEN 6 WHEN 'ShareLock' THEN 5
                                     WHEN 'ShareUpdateExclusiveLock' THEN 4 WHEN 'RowExclusiveLock' THEN 3
                                     WHEN 'RowShareLock' THEN 2 ELSE 1 END DESC))[1] AS strongest
    FROM pg_locks AS l
    JOIN pg_class AS c ON c.oid = l.relation AND c.relkind IN ('r', 'p', 'm')
    JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    WHERE l.pid = idle.pid AND l.locktype = 'relation' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
) AS held
WHERE held.relations IS NOT NULL
UNION ALL
(SELECT 'oldest' AS kind, a.pid, pg_get_userbyid(a.usesysid), a.application_name, a.state,
        extract(epoch FROM now() - a.xact_start)::float8, extract(epoch FROM now() - a.state_change)::float8,
        left(a.query, 200), NULL::text[], NULL::text
 FROM pg_stat_get_activity(NULL) AS a
 WHERE a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
   AND a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY a.xact_start
 LIMIT $1);
