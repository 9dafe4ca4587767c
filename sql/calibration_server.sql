-- Which server a calibration belongs to: its system identifier when the role may call pg_control_system(),
-- else its address, port and cluster_name; its major; and its shared_buffers in bytes (a table larger than a quarter
-- of it is scanned through a ring of buffers, its pages read from the kernel); and how many processes a large
-- CREATE INDEX shares its heap scan among (the leader and its workers, as plan_create_index_workers allows them:
-- each participant needs 32 MB of maintenance_work_mem).
SELECT CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier::text FROM pg_control_system())
            ELSE coalesce(host(inet_server_addr()), 'socket') || ':' || current_setting('port')
                 || coalesce(':' || nullif(current_setting('cluster_name'), ''), '')
       END AS server,
       current_setting('server_version_num')::int / 10000 AS major,
       pg_size_bytes(current_setting('shared_buffers'))::int8 AS shared_buffers_bytes,
       1 + greatest(0, least(current_setting('max_parallel_maintenance_workers')::int,
                             pg_size_bytes(current_setting('maintenance_work_mem')) / (32 * 1024 * 1024) - 1))::int
           AS index_build_participants;
