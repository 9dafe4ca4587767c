-- The scratch databases of rehearsals that ended without dropping them (a kill -9): named pgwarden_rehearsal_<run id>,
-- with nobody connected to them, and whose run has no live session of its own (application_name
-- pgwarden-rehearsal-<run id>, which a running rehearsal keeps open from before it creates the copy until it drops it).
SELECT d.datname AS name
FROM pg_database AS d
WHERE d.datname LIKE 'pgwarden\_rehearsal\_%'
  AND NOT d.datistemplate
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.datid = d.oid)
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a
                  WHERE a.application_name = 'pgwarden-rehearsal-' || substr(d.datname, 20))
ORDER BY 1;
