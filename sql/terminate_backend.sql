-- Terminates the backend and waits for it to exit, so that its locks are released on return.
-- $1: its pid; $2: how long to wait for the exit, in milliseconds.
SELECT pg_terminate_backend($1::int4, $2::int8) AS signalled;
