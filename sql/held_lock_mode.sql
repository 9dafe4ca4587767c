-- The strongest lock mode a session of the migration holds, granted, on the relation its queue waits for: read
-- once when sessions begin to queue behind it (the report's lock_holds, the status line).
-- $1 the pid, $2 the relation as the waits show it (schema.name, or its oid).
SELECT l.mode
FROM pg_locks AS l
WHERE l.pid = $1
  AND l.granted
  AND l.locktype = 'relation'
  AND (l.relation::text = $2
       OR (SELECT format('%I.%I', n.nspname, c.relname)
           FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
           WHERE c.oid = l.relation) = $2)
ORDER BY array_position(
             ARRAY['AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock',
                   'ShareUpdateExclusiveLock', 'RowExclusiveLock', 'RowShareLock', 'AccessShareLock'],
             l.mode::text)
LIMIT 1;
