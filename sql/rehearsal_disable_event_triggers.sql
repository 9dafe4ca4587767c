-- Disables every event trigger of the rehearsal's copy on the real server, run by the restore's psql session right
-- after the schema: DDL the rehearsal runs then fires none (ALTER EVENT TRIGGER fires none itself).
DO $$
DECLARE
    trigger_name name;
BEGIN
    FOR trigger_name IN SELECT evtname FROM pg_event_trigger WHERE evtenabled <> 'D' LOOP
        EXECUTE format('ALTER EVENT TRIGGER %I DISABLE', trigger_name);
    END LOOP;
END
$$;
