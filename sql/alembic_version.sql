-- The Alembic revision(s) in alembic_version, or NULL when the table does not exist.
-- One statement that works either way: the table is read only when to_regclass finds it.
SELECT CASE
         WHEN to_regclass('alembic_version') IS NULL THEN NULL
         ELSE (xpath('/row/v/text()', query_to_xml(
                'SELECT string_agg(version_num, '','' ORDER BY version_num) AS v FROM alembic_version',
                false, true, '')))[1]::text
       END AS version;
