-- The client sessions with their identity and the client side of their connection: read when a
-- migration starts (the sessions that were there before it) and while pgwarden looks for the
-- sessions the migration opened. Reads pg_stat_activity, so it is not run on every poll.
SELECT pid,
       backend_start::text AS backend_start,
       application_name,
       host(client_addr) AS client_addr,
       client_port
FROM pg_stat_activity
WHERE backend_type = 'client backend';
