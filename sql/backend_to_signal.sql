-- The session about to be cancelled or terminated: whether it exists, its state and whose it is.
-- $1: the backend's pid.
SELECT activity.pid,
       activity.state,
       activity.backend_type,
       pg_get_userbyid(activity.usesysid) AS usename,
       role.rolsuper AS superuser
FROM pg_stat_get_activity($1::int4) AS activity
LEFT JOIN pg_roles AS role ON role.oid = activity.usesysid;
