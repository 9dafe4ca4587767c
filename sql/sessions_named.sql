-- The client sessions and their application names: used while pgwarden looks for the
-- migration's sessions by name. Reads pg_stat_activity, so it is not run on every poll.
SELECT pid, application_name
FROM pg_stat_activity
WHERE backend_type = 'client backend';
