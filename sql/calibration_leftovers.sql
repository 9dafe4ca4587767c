-- The scratch databases of calibrations that ended without dropping them (a kill -9): named
-- pgwarden_calibration_<run id>, with nobody connected to them, and whose run has no live session of its own
-- (application_name pgwarden-calibration-<run id>, kept open from before it creates the database until it drops it).
SELECT d.datname AS name
FROM pg_database AS d
WHERE d.datname LIKE 'pgwarden\_calibration\_%'
  AND NOT d.datistemplate
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.datid = d.oid)
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a
                  WHERE a.application_name = 'pgwarden-calibration-' || substr(d.datname, 22))
ORDER BY 1;
