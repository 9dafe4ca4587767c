-- Every session waiting on a heavyweight lock, resolved: the lock it wants and since when,
-- who blocks it (pg_blocking_pids: hard blocks and soft ones, a waiter ahead in the queue),
-- and one row for each session involved, waiter or blocker. Run only after waiting_backends.sql
-- found a waiter. A prepared transaction that blocks appears as pid 0 with its gid. A waiting
-- parallel worker comes with its leader_pid; pgwarden folds it into the leader.
-- pg_locks.waitstart exists from PostgreSQL 14; on older servers pgwarden runs this text with
-- the line that reads it replaced by a NULL, and the wait is measured from the waiter's state_change.
-- Activity comes from pg_stat_get_activity(pid), called for each session involved: the call
-- for every backend, pg_stat_get_activity(NULL), builds a whole row (query text, addresses) for
-- each of them, and at 1000 sessions and 40 waiters that cost a third of this statement (3.2 ms
-- against 2.2 ms, prepared, PostgreSQL 15); at 100 sessions the two cost the same.
WITH locks AS MATERIALIZED (
    SELECT * FROM pg_locks
),
requests AS (
    SELECT l.*,
           pg_blocking_pids(l.pid) AS blocked_by,
           l.waitstart AS wait_start
    FROM locks AS l
    WHERE NOT l.granted AND l.pid IS NOT NULL
),
sessions AS (
    SELECT pid FROM requests
    UNION
    SELECT unnest(blocked_by) FROM requests
),
prepared AS (
    SELECT DISTINCT r.pid AS waiter_pid, x.gid
    FROM requests AS r
    JOIN locks AS h
      ON h.granted AND h.pid IS NULL
     AND h.locktype = r.locktype
     AND h.database IS NOT DISTINCT FROM r.database
     AND h.relation IS NOT DISTINCT FROM r.relation
     AND h.page IS NOT DISTINCT FROM r.page
     AND h.tuple IS NOT DISTINCT FROM r.tuple
     AND h.virtualxid IS NOT DISTINCT FROM r.virtualxid
     AND h.transactionid IS NOT DISTINCT FROM r.transactionid
     AND h.classid IS NOT DISTINCT FROM r.classid
     AND h.objid IS NOT DISTINCT FROM r.objid
     AND h.objsubid IS NOT DISTINCT FROM r.objsubid
    -- A prepared transaction keeps its virtual transaction id, and holds a lock on its own xid.
    JOIN locks AS own
      ON own.pid IS NULL AND own.locktype = 'transactionid'
     AND own.virtualtransaction = h.virtualtransaction
    JOIN pg_prepared_xacts AS x ON x.transaction = own.transactionid
    WHERE 0 = ANY (r.blocked_by)
)
SELECT s.pid,
       a.pid AS activity_pid,
       a.leader_pid,
       a.datid AS database_oid,
       r.blocked_by,
       r.locktype,
       r.mode,
       coalesce(
           (SELECT format('%I.%I', n.nspname, c.relname)
            FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE c.oid = r.relation AND r.database IN (0, current_database.oid)),
           r.relation::text
       ) AS relation,
       r.page,
       r.tuple,
       r.virtualxid,
       r.transactionid::text AS transactionid,
       r.classid::int8 AS classid,
       r.objid::int8 AS objid,
       r.objsubid,
       extract(epoch FROM statement_timestamp() - coalesce(r.wait_start, a.state_change)) AS waiting_seconds,
       r.wait_start IS NOT NULL AS exact_wait_start,
       a.wait_event_type,
       a.wait_event,
       a.state,
       extract(epoch FROM statement_timestamp() - a.xact_start) AS xact_seconds,
       extract(epoch FROM statement_timestamp() - a.state_change) AS state_seconds,
       pg_get_userbyid(a.usesysid) AS usename,
       d.datname,
       a.application_name,
       a.backend_type,
       a.query,
       a.backend_start::text AS backend_start,
       a.xact_start::text AS xact_start,
       host(a.client_addr) AS client_addr,
       a.client_port,
       NULL::text AS prepared_gid,
       NULL::int4 AS prepared_waiter
FROM sessions AS s
LEFT JOIN requests AS r ON r.pid = s.pid
LEFT JOIN LATERAL pg_stat_get_activity(s.pid) AS a ON true
LEFT JOIN pg_database AS d ON d.oid = a.datid
CROSS JOIN (SELECT oid FROM pg_database WHERE datname = current_database()) AS current_database
WHERE s.pid <> 0
UNION ALL
SELECT 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL,
       p.gid, p.waiter_pid
FROM prepared AS p;
