-- Cancels the backend's current statement. $1: its pid.
SELECT pg_cancel_backend($1::int4) AS signalled;
