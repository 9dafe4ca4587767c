-- Whether pgwarden's role may create the scratch database a rehearsal runs on (CREATEDB or superuser).
SELECT coalesce((SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user), false) AS may_create;
