-- How a lock wait of the migration ended, asked when it is no longer seen waiting: whether the backend
-- now holds, granted, the lock it waited for, and its transaction's start. pgwarden says "got its lock"
-- only when it holds it; "without it" when its transaction failed (state `idle in transaction (aborted)`:
-- lock_timeout or a cancel in a transaction block) or the very transaction that waited is still open and
-- does not hold it (a granted lock is kept until the transaction ends); otherwise it cannot tell (the
-- transaction ended: committed after the grant, or rolled back after lock_timeout or a cancel).
-- $1 the pid, $2 the locktype, $3 the mode, $4 the relation as the wait showed it (schema.name, or its
-- oid), or null.
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
       ) AS granted,
       (SELECT a.xact_start::text FROM pg_stat_activity AS a WHERE a.pid = $1) AS xact_start,
       (SELECT a.state FROM pg_stat_activity AS a WHERE a.pid = $1) AS state;
