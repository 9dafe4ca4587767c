-- The Alembic revision(s) in alembic_version, or NULL when the table does not exist.
-- One statement that works either way: the table is read only when to_regclass finds it, through
-- ts_stat, which runs the query it is given: each revision becomes one quoted tsvector lexeme, and
-- ts_stat returns each lexeme unchanged. (query_to_xml and xpath would need a server built with
-- libxml, which some builds, the PostgreSQL 16.2 wheel the tests use among them, lack.)
SELECT CASE
         WHEN to_regclass('alembic_version') IS NULL THEN NULL
         ELSE (SELECT string_agg(word, ',' ORDER BY word) FROM ts_stat(
                 $$SELECT ('''' || replace(replace(version_num, '\', '\\'), '''', '''''') || '''')::tsvector
                   FROM alembic_version$$))
       END AS version;
