-- The relation locks the rehearsal backend holds itself, strongest first, with the names of the relations it can
-- still see (a relation it dropped has none: the rehearsal keeps the names it read before). Only tables, partitioned
-- tables, views, materialized views and foreign tables, outside the system schemas; relpersistence 't' marks the
-- session's own temporary relations.
SELECT l.relation::int8 AS oid,
       l.mode,
       n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS kind,
       c.relpersistence::text AS persistence
FROM pg_locks AS l
LEFT JOIN pg_class AS c ON c.oid = l.relation
LEFT JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE l.pid = pg_backend_pid()
  AND l.locktype = 'relation'
  AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
