-- The calibration table's heap and TOAST bytes (pg_table_size: it is pgwarden's own, in its own scratch database).
SELECT pg_table_size('pgwarden_calibration')::int8 AS bytes;
