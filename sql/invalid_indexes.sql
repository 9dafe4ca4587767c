-- Indexes marked invalid (a CREATE INDEX CONCURRENTLY that failed, or was cancelled, leaves one).
SELECT format('%I.%I', n.nspname, c.relname) AS index
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1;
