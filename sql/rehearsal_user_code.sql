-- What in the rehearsal's copy runs code that is not PostgreSQL's own, read once after the restore (on the real
-- server only): kind 'f', the functions, procedures and aggregates outside pg_catalog and information_schema (an
-- extension's included); 'o', the operators outside pg_catalog whose name no pg_catalog operator has; 'd', the
-- domains whose default or constraints call such a function.
WITH user_functions AS (
    SELECT p.oid, p.proname
    FROM pg_proc AS p
    JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
)
SELECT 'f' AS kind, proname::text AS name FROM user_functions
UNION
SELECT 'o', o.oprname::text
FROM pg_operator AS o
WHERE o.oprnamespace <> 'pg_catalog'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_operator AS c
                  WHERE c.oprnamespace = 'pg_catalog'::regnamespace AND c.oprname = o.oprname)
UNION
SELECT 'd', t.typname::text
FROM pg_type AS t
WHERE t.typtype = 'd'
  AND EXISTS (SELECT 1
              FROM pg_depend AS d
              JOIN user_functions AS f ON d.refclassid = 'pg_proc'::regclass AND f.oid = d.refobjid
              WHERE (d.classid = 'pg_type'::regclass AND d.objid = t.oid)
                 OR (d.classid = 'pg_constraint'::regclass
                     AND d.objid IN (SELECT c.oid FROM pg_constraint AS c WHERE c.contypid = t.oid)));
