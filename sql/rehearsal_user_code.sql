-- What in the rehearsal's copy runs code that is not PostgreSQL's own, read once after the restore (on the real
-- server only): kind 'f', the functions, procedures and aggregates outside pg_catalog and information_schema (an
-- extension's included); 'o', the operators outside pg_catalog whose name no pg_catalog operator has, or whose
-- function is written in a language other than C (code a superuser installed) — an operator `=` in plpgsql can be
-- picked for `a = b` over pg_catalog's; 'd', the domains whose default or constraints call such a function; 'c', the
-- types a cast whose function is such a one, not in C, converts (the side that is not pg_catalog's, or both when both
-- are): an assignment or implicit cast runs it with no function named in the statement.
WITH user_functions AS (
    SELECT p.oid, p.proname
    FROM pg_proc AS p
    JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
),
written_functions AS (
    SELECT p.oid, p.proname
    FROM pg_proc AS p
    JOIN pg_language AS l ON l.oid = p.prolang
    WHERE p.oid IN (SELECT oid FROM user_functions) AND l.lanname NOT IN ('c', 'internal')
)
SELECT 'f' AS kind, proname::text AS name FROM user_functions
UNION
SELECT 'o', o.oprname::text
FROM pg_operator AS o
WHERE o.oprnamespace <> 'pg_catalog'::regnamespace
  AND (NOT EXISTS (SELECT 1 FROM pg_operator AS c
                   WHERE c.oprnamespace = 'pg_catalog'::regnamespace AND c.oprname = o.oprname)
       OR o.oprcode IN (SELECT oid FROM written_functions))
UNION
SELECT 'c', t.typname::text
FROM pg_cast AS k
JOIN written_functions AS f ON f.oid = k.castfunc
JOIN pg_type AS t ON t.oid IN (k.castsource, k.casttarget)
WHERE t.typnamespace <> 'pg_catalog'::regnamespace
   OR NOT EXISTS (SELECT 1 FROM pg_type AS o
                  WHERE o.oid IN (k.castsource, k.casttarget) AND o.typnamespace <> 'pg_catalog'::regnamespace)
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
