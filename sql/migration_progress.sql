-- What PostgreSQL reports of one backend of the migration's progress (CREATE INDEX and REINDEX; CLUSTER and VACUUM
-- FULL), and how long its statement has run: read while the migration holds a lock others queue behind, at most
-- once a second. No progress view covers an ALTER TABLE rewrite: then the running time alone.
-- $1 the pid.
SELECT coalesce(i.command, c.command) AS command,
       coalesce(i.phase, c.phase) AS phase,
       coalesce(i.blocks_done, c.heap_blks_scanned)::float8 AS done,
       coalesce(i.blocks_total, c.heap_blks_total)::float8 AS total,
       extract(epoch FROM clock_timestamp() - a.query_start)::float8 AS running_seconds,
       a.query
FROM pg_stat_activity AS a
LEFT JOIN pg_stat_progress_create_index AS i ON i.pid = a.pid
LEFT JOIN pg_stat_progress_cluster AS c ON c.pid = a.pid
WHERE a.pid = $1 AND a.state = 'active';
