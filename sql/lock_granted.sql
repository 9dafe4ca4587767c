-- Whether a backend now holds, granted, the lock it was seen waiting for: asked when one of the
-- migration's lock waits ends, so that pgwarden says "got its lock" only when PostgreSQL granted it
-- (a wait also ends when lock_timeout, a cancel or an error stops the statement). $1 the pid, $2 the
-- locktype, $3 the mode, $4 the relation as the wait showed it (schema.name, or its oid), or null.
SELECT EXISTS (
    SELECT 1
    FROM pg_locks AS l
    WHERE l.pid = $1
      AND l.granted
      AND l.locktype = $2
      AND l.mode = $3
      AND ($4::text IS NULL
           OR l.relation::text = $4
           OR (SELECT format('%I.%I', n.nspname, c.relname)
               FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
               WHERE c.oid = l.relation) = $4)
) AS granted;
