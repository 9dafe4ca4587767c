-- The catalog facts a forecast needs of each relation a migration names: kind, size, estimated rows,
-- partitions and children, columns, constraints, the foreign keys that reference it, a view's sources,
-- an index's table, a partitioned table's default partition; the heap and TOAST bytes apart, and the number of
-- indexes, for the estimate in seconds. One JSON object per relation that exists.
-- $1: text[] of relation names, each part double-quoted ("public"."orders"), resolved by to_regclass on
-- the search_path. A partitioned table's size and rows are the sum of its partitions'. Takes no relation lock: to_regclass and the catalogs are read without one, and the sizes are
-- pg_class's (relpages of the table, its TOAST table and indexes, as of the last VACUUM, ANALYZE or CREATE INDEX)
-- rather than pg_total_relation_size's, which would queue behind a migration's AccessExclusiveLock.
WITH keyed AS (
    SELECT c.oid, '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"' AS key
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
), requested AS (
    SELECT DISTINCT name, to_regclass(name) AS oid
    FROM unnest($1::text[]) AS name
)
SELECT requested.name AS requested,
       json_build_object(
           'oid', c.oid::int8,
           'key', (SELECT key FROM keyed WHERE keyed.oid = c.oid),
           'qualified_name', n.nspname || '.' || c.relname,
           'kind', c.relkind,
           'bytes', (SELECT sum(greatest(part.relpages, 0)
                                + coalesce((SELECT greatest(toast.relpages, 0) FROM pg_class AS toast
                                            WHERE toast.oid = part.reltoastrelid), 0)
                                + coalesce((SELECT sum(greatest(i.relpages, 0)) FROM pg_index AS x
                                            JOIN pg_class AS i ON i.oid = x.indexrelid
                                            WHERE x.indrelid = part.oid), 0))
                     FROM pg_class AS part WHERE part.oid = ANY (members.oids))::int8
                    * current_setting('block_size')::int8,
           'table_bytes', (SELECT sum(greatest(part.relpages, 0)
                                      + coalesce((SELECT greatest(toast.relpages, 0) FROM pg_class AS toast
                                                  WHERE toast.oid = part.reltoastrelid), 0))
                           FROM pg_class AS part WHERE part.oid = ANY (members.oids))::int8
                          * current_setting('block_size')::int8,
           'index_count', (SELECT count(*) FROM pg_index AS x WHERE x.indrelid = c.oid),
           'text_index_count', (SELECT count(*) FROM pg_index AS x WHERE x.indrelid = c.oid
                                AND EXISTS (SELECT 1 FROM unnest(x.indcollation::oid[]) AS k WHERE k <> 0)),
           'rows', CASE WHEN c.relkind = 'p'
                        THEN (SELECT coalesce(sum(greatest(part.reltuples, 0)), -1) FROM pg_class AS part
                              WHERE part.oid = ANY (members.oids) AND part.relkind <> 'p')
                        ELSE c.reltuples END::bigint,
           'descendants', ARRAY(
               WITH RECURSIVE tree(oid) AS (
                   SELECT inhrelid FROM pg_inherits WHERE inhparent = c.oid
                   UNION
                   SELECT i.inhrelid FROM pg_inherits AS i JOIN tree ON i.inhparent = tree.oid
               )
               SELECT keyed.key FROM tree JOIN keyed ON keyed.oid = tree.oid
               JOIN pg_class AS child ON child.oid = tree.oid
               WHERE child.relkind NOT IN ('i', 'I')
               ORDER BY 1),
           'columns', (
               SELECT json_object_agg(a.attname, json_build_object(
                   'type_oid', a.atttypid::int8,
                   'type_name', format_type(a.atttypid, a.atttypmod),
                   'typmod', a.atttypmod,
                   'not_null', a.attnotnull,
                   'proven_not_null', EXISTS (
                       SELECT 1 FROM pg_constraint AS k
                       WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated
                         AND pg_get_constraintdef(k.oid) = 'CHECK ((' || quote_ident(a.attname) || ' IS NOT NULL))'),
                   'indexed', EXISTS (SELECT 1 FROM pg_index AS x WHERE x.indrelid = c.oid AND a.attnum = ANY (x.indkey))))
               FROM pg_attribute AS a
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           'constraints', (
               SELECT json_object_agg(k.conname, json_build_object(
                   'type', k.contype,
                   'validated', k.convalidated,
                   'referenced', (SELECT key FROM keyed WHERE keyed.oid = k.confrelid),
                   'columns', ARRAY(SELECT attname FROM pg_attribute
                                    WHERE attrelid = c.oid AND attnum = ANY (k.conkey) ORDER BY attnum)))
               FROM pg_constraint AS k
               WHERE k.conrelid = c.oid),
           'referenced_by', (
               SELECT json_agg(json_build_object(
                   'table', (SELECT key FROM keyed WHERE keyed.oid = k.conrelid),
                   'on_delete', k.confdeltype,
                   'on_update', k.confupdtype,
                   'referenced_columns', ARRAY(SELECT attname FROM pg_attribute
                                               WHERE attrelid = c.oid AND attnum = ANY (k.confkey) ORDER BY attnum)))
               FROM pg_constraint AS k
               WHERE k.confrelid = c.oid AND k.contype = 'f' AND k.conparentid = 0),
           'view_sources', ARRAY(
               SELECT DISTINCT keyed.key
               FROM pg_rewrite AS r
               JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                                  AND d.refclassid = 'pg_class'::regclass
               JOIN keyed ON keyed.oid = d.refobjid
               WHERE r.ev_class = c.oid AND d.refobjid <> c.oid AND c.relkind IN ('v', 'm')),
           'index_table', (SELECT key FROM keyed JOIN pg_index AS x ON x.indrelid = keyed.oid WHERE x.indexrelid = c.oid),
           'default_partition', (SELECT key FROM keyed JOIN pg_partitioned_table AS p ON p.partdefid = keyed.oid
                                 WHERE p.partrelid = c.oid)
       )::text AS facts
FROM requested
JOIN pg_class AS c ON c.oid = requested.oid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
-- What its size counts: the relation itself, and for a partitioned table (relpages -1, no storage of its own)
-- every partition under it, at any depth.
CROSS JOIN LATERAL (
    SELECT ARRAY(
        WITH RECURSIVE tree(oid) AS (
            SELECT c.oid
            UNION
            SELECT i.inhrelid FROM pg_inherits AS i JOIN tree ON i.inhparent = tree.oid WHERE c.relkind = 'p'
        )
        SELECT oid FROM tree) AS oids
) AS members;
