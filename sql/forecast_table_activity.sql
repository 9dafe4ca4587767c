-- The counters of statements and rows on each relation, sampled twice to give a rate.
-- $1: oid[] of the relations. Scans started (sequential and index) stand for statements that read it.
SELECT n.nspname || '.' || c.relname AS relation,
       (coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0))::int8 AS scans,
       (coalesce(s.n_tup_ins, 0) + coalesce(s.n_tup_upd, 0) + coalesce(s.n_tup_del, 0))::int8 AS rows_written
FROM pg_stat_user_tables AS s
JOIN pg_class AS c ON c.oid = s.relid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE s.relid = ANY ($1::oid[]);
