-- The Django migrations recorded in django_migrations, one per line as "ID APP.NAME" (ID zero-padded, so
-- that the lines sort in the order they were applied), or NULL when the table does not exist.
-- One statement that works either way, as sql/alembic_version.sql: the table is read only when
-- to_regclass finds it, through ts_stat, which runs the query it is given and returns each lexeme unchanged.
SELECT CASE
         WHEN to_regclass('django_migrations') IS NULL THEN NULL
         ELSE coalesce((SELECT string_agg(word, E'\n' ORDER BY word) FROM ts_stat(
                 $$SELECT ('''' || lpad(id::text, 19, '0') || ' '
                           || replace(replace(app || '.' || name, '\', '\\'), '''', '''''') || '''')::tsvector
                   FROM django_migrations$$)), '')
       END AS migrations;
