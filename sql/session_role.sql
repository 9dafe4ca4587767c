-- Who pgwarden is on this server and what it may see and do: read once per connection.
-- pg_use_reserved_connections and reserved_connections exist from PostgreSQL 16: before it,
-- to_regrole finds no such role and both read NULL.
SELECT current_user AS role,
       current_database() AS database,
       (SELECT oid FROM pg_database WHERE datname = current_database()) AS database_oid,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS monitor,
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal_backend,
       pg_has_role(current_user, to_regrole('pg_use_reserved_connections'), 'USAGE') AS use_reserved_connections,
       current_setting('reserved_connections', true)::int AS reserved_connections,
       current_setting('server_version_num')::int AS server_version_num,
       current_setting('track_activities')::bool AS track_activities;
