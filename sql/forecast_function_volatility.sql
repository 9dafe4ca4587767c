-- Which of the functions a column default calls are never volatile, whatever their arguments:
-- a default calling only these is evaluated once, and ADD COLUMN does not rewrite the table.
-- $1: text[] of function names (unqualified).
SELECT proname AS name
FROM pg_proc
WHERE proname = ANY ($1::text[])
GROUP BY proname
HAVING bool_and(provolatile <> 'v');
