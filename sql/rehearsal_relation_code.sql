-- The code that using relations would run in the rehearsal's copy, read by the rehearsal's own session before a
-- statement runs (its search_path and temporary tables resolve the names as the statement will): $1, the names the
-- statement writes (text[], to_regclass's syntax); $2, the trigger events it can fire (pg_trigger.tgtype bits:
-- 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE). From each relation on, transitively: its partitions and inheritance
-- children, what its rules (a view's query among them) read or write, and, when $2 has DELETE or UPDATE, the tables
-- whose foreign keys reference it (their actions). Found there: an enabled user trigger for one of those events
-- (statement-level ones fire with no rows), and a rule, a default or generated column, a constraint, an index
-- expression or predicate, or a row-level security policy that depends on a function outside pg_catalog and
-- information_schema, or a column of a domain whose default or constraint does; a column of a type (an array or a
-- domain of it included) that a cast whose function is such a one, not in C, converts (the side that is not
-- pg_catalog's, or both when both are): an assignment or implicit cast runs it unnamed; a foreign table (its wrapper
-- reads the foreign server, which may be another database of this one). One row per finding.
WITH RECURSIVE edges (parent, child) AS (
    SELECT i.inhparent, i.inhrelid FROM pg_inherits AS i
    UNION ALL
    SELECT w.ev_class, d.refobjid
    FROM pg_rewrite AS w
    JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> w.ev_class
    UNION ALL
    SELECT c.confrelid, c.conrelid FROM pg_constraint AS c WHERE c.contype = 'f' AND ($2::int & 24) <> 0
),
reached (oid) AS (
    SELECT DISTINCT to_regclass(name) FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL
    UNION
    SELECT e.child FROM reached AS r JOIN edges AS e ON e.parent = r.oid
),
user_functions AS (
    SELECT p.oid, p.proname
    FROM pg_proc AS p
    JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
),
parts (relid, classid, objid, what) AS (
    SELECT a.adrelid, 'pg_attrdef'::regclass, a.oid, 'a default or generated column' FROM pg_attrdef AS a
    UNION ALL
    SELECT c.conrelid, 'pg_constraint'::regclass, c.oid, 'constraint ' || c.conname
    FROM pg_constraint AS c WHERE c.conrelid <> 0
    UNION ALL
    SELECT i.indrelid, 'pg_class'::regclass, i.indexrelid, 'index ' || i.indexrelid::regclass::text FROM pg_index AS i
    UNION ALL
    SELECT w.ev_class, 'pg_rewrite'::regclass, w.oid,
           CASE WHEN w.rulename = '_RETURN' THEN 'its query' ELSE 'rule ' || w.rulename END
    FROM pg_rewrite AS w
    UNION ALL
    SELECT p.polrelid, 'pg_policy'::regclass, p.oid, 'policy ' || p.polname FROM pg_policy AS p
)
SELECT r.oid::regclass::text AS relation, 'trigger ' || t.tgname AS what, p.proname::text AS function
FROM reached AS r
JOIN pg_trigger AS t ON t.tgrelid = r.oid
JOIN pg_proc AS p ON p.oid = t.tgfoid
WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND (t.tgtype::int & $2::int) <> 0
UNION ALL
SELECT r.oid::regclass::text, x.what, f.proname::text
FROM reached AS r
JOIN parts AS x ON x.relid = r.oid
JOIN pg_depend AS d ON d.classid = x.classid AND d.objid = x.objid AND d.refclassid = 'pg_proc'::regclass
JOIN user_functions AS f ON f.oid = d.refobjid
UNION ALL
SELECT r.oid::regclass::text, 'column ' || a.attname || ' of domain ' || a.atttypid::regtype::text, f.proname::text
FROM reached AS r
JOIN pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type AS ty ON ty.oid = a.atttypid AND ty.typtype = 'd'
JOIN pg_depend AS d ON d.refclassid = 'pg_proc'::regclass
                   AND ((d.classid = 'pg_type'::regclass AND d.objid = ty.oid)
                        OR (d.classid = 'pg_constraint'::regclass
                            AND d.objid IN (SELECT c.oid FROM pg_constraint AS c WHERE c.contypid = ty.oid)))
JOIN user_functions AS f ON f.oid = d.refobjid
UNION ALL
SELECT r.oid::regclass::text, 'column ' || a.attname || ' of type ' || a.atttypid::regtype::text || ', which a cast converts',
       f.proname::text
FROM reached AS r
JOIN pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type AS ty ON ty.oid = a.atttypid
JOIN pg_cast AS k ON true
JOIN user_functions AS f ON f.oid = k.castfunc
JOIN pg_language AS l ON l.oid = (SELECT prolang FROM pg_proc WHERE oid = f.oid) AND l.lanname NOT IN ('c', 'internal')
JOIN pg_type AS side ON side.oid IN (k.castsource, k.casttarget)
                    AND side.oid IN (ty.oid, ty.typbasetype, CASE WHEN ty.typcategory = 'A' THEN ty.typelem END)
WHERE side.typnamespace <> 'pg_catalog'::regnamespace
   OR NOT EXISTS (SELECT 1 FROM pg_type AS o
                  WHERE o.oid IN (k.castsource, k.casttarget) AND o.typnamespace <> 'pg_catalog'::regnamespace)
UNION ALL
SELECT r.oid::regclass::text, 'its foreign server ' || s.srvname, coalesce(h.proname::text, 'its wrapper')
FROM reached AS r
JOIN pg_foreign_table AS ft ON ft.ftrelid = r.oid
JOIN pg_foreign_server AS s ON s.oid = ft.ftserver
JOIN pg_foreign_data_wrapper AS w ON w.oid = s.srvfdw
LEFT JOIN pg_proc AS h ON h.oid = w.fdwhandler;
