"""What scripts/bench.py and scripts/faults.py share: one statement on a connection of its own."""
import psycopg2


def admin(sql, *args, dbname="postgres", application="pgwarden-scripts"):
    """Runs `sql` with `args` (parameterised) in autocommit on a new connection; returns its rows."""
    conn = psycopg2.connect(dbname=dbname, application_name=application)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()
