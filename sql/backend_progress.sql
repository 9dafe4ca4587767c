-- What PostgreSQL reports of the progress of some backends' statements (CREATE INDEX and REINDEX; CLUSTER and VACUUM
-- FULL; VACUUM; ANALYZE; COPY), one row per backend that a progress view covers: read by `pgwarden locks` for its root
-- blockers only, so a poll while nothing waits never runs it. PostgreSQL 14+ (pg_stat_progress_copy).
-- done/total are the counter the current phase advances (NULL where the phase has none), unit what it counts;
-- running_seconds is how long the backend's statement has run. The relation is named only in this database.
-- $1 the pids.
WITH progress AS (
    SELECT i.pid, i.datid, i.relid, i.command, i.phase,
           CASE WHEN i.phase LIKE '%scanning table%' AND i.blocks_total > 0 THEN i.blocks_done
                WHEN i.tuples_total > 0 THEN i.tuples_done END AS done,
           CASE WHEN i.phase LIKE '%scanning table%' AND i.blocks_total > 0 THEN i.blocks_total
                WHEN i.tuples_total > 0 THEN i.tuples_total END AS total,
           CASE WHEN i.phase LIKE '%scanning table%' AND i.blocks_total > 0 THEN 'blocks'
                WHEN i.tuples_total > 0 THEN 'tuples' END AS unit
    FROM pg_stat_progress_create_index AS i
    WHERE i.pid = ANY ($1::int4[])
    UNION ALL
    SELECT c.pid, c.datid, c.relid, c.command, c.phase,
           CASE WHEN c.phase = 'seq scanning heap' THEN c.heap_blks_scanned END,
           CASE WHEN c.phase = 'seq scanning heap' THEN c.heap_blks_total END,
           CASE WHEN c.phase = 'seq scanning heap' THEN 'blocks' END
    FROM pg_stat_progress_cluster AS c
    WHERE c.pid = ANY ($1::int4[])
    UNION ALL
    SELECT v.pid, v.datid, v.relid, 'VACUUM', v.phase,
           CASE v.phase WHEN 'scanning heap' THEN v.heap_blks_scanned WHEN 'vacuuming heap' THEN v.heap_blks_vacuumed END,
           CASE WHEN v.phase IN ('scanning heap', 'vacuuming heap') THEN v.heap_blks_total END,
           CASE WHEN v.phase IN ('scanning heap', 'vacuuming heap') THEN 'blocks' END
    FROM pg_stat_progress_vacuum AS v
    WHERE v.pid = ANY ($1::int4[])
    UNION ALL
    SELECT a.pid, a.datid, a.relid, 'ANALYZE', a.phase,
           CASE a.phase WHEN 'acquiring sample rows' THEN a.sample_blks_scanned
                        WHEN 'acquiring inherited sample rows' THEN a.child_tables_done END,
           CASE a.phase WHEN 'acquiring sample rows' THEN a.sample_blks_total
                        WHEN 'acquiring inherited sample rows' THEN a.child_tables_total END,
           CASE a.phase WHEN 'acquiring sample rows' THEN 'blocks'
                        WHEN 'acquiring inherited sample rows' THEN 'tables' END
    FROM pg_stat_progress_analyze AS a
    WHERE a.pid = ANY ($1::int4[])
    UNION ALL
    SELECT p.pid, p.datid, p.relid, p.command, NULL,
           CASE WHEN p.bytes_total > 0 THEN p.bytes_processed ELSE p.tuples_processed END,
           CASE WHEN p.bytes_total > 0 THEN p.bytes_total END,
           CASE WHEN p.bytes_total > 0 THEN 'bytes' ELSE 'tuples' END
    FROM pg_stat_progress_copy AS p
    WHERE p.pid = ANY ($1::int4[])
)
SELECT g.pid,
       g.command,
       g.phase,
       g.done::float8 AS done,
       g.total::float8 AS total,
       g.unit,
       CASE WHEN g.datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND g.relid <> 0
            THEN (SELECT n.nspname || '.' || c.relname
                  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                  WHERE c.oid = g.relid) END AS relation,
       extract(epoch FROM clock_timestamp() - s.query_start)::float8 AS running_seconds
FROM progress AS g
JOIN pg_stat_activity AS s ON s.pid = g.pid
WHERE s.state = 'active';
