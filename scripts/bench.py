"""The measurements behind scripts/bench. Every figure comes from this run, on this machine."""
import os, platform, statistics, subprocess, sys, time

import psycopg2
import psycopg2.extensions
from pgactivity.data import Data

PGWARDEN = sys.argv[1]
QUICK = "--quick" in sys.argv
POLLS = 50
DB = "pgwarden_bench"

WIKI_QUERY = """
SELECT blocked_locks.pid AS blocked_pid, blocked_activity.usename AS blocked_user,
       blocking_locks.pid AS blocking_pid, blocking_activity.usename AS blocking_user,
       blocked_activity.query AS blocked_statement, blocking_activity.query AS current_statement_in_blocking_process
FROM pg_catalog.pg_locks blocked_locks
JOIN pg_catalog.pg_stat_activity blocked_activity ON blocked_activity.pid = blocked_locks.pid
JOIN pg_catalog.pg_locks blocking_locks
  ON blocking_locks.locktype = blocked_locks.locktype
 AND blocking_locks.database IS NOT DISTINCT FROM blocked_locks.database
 AND blocking_locks.relation IS NOT DISTINCT FROM blocked_locks.relation
 AND blocking_locks.page IS NOT DISTINCT FROM blocked_locks.page
 AND blocking_locks.tuple IS NOT DISTINCT FROM blocked_locks.tuple
 AND blocking_locks.virtualxid IS NOT DISTINCT FROM blocked_locks.virtualxid
 AND blocking_locks.transactionid IS NOT DISTINCT FROM blocked_locks.transactionid
 AND blocking_locks.classid IS NOT DISTINCT FROM blocked_locks.classid
 AND blocking_locks.objid IS NOT DISTINCT FROM blocked_locks.objid
 AND blocking_locks.objsubid IS NOT DISTINCT FROM blocked_locks.objsubid
 AND blocking_locks.pid != blocked_locks.pid
JOIN pg_catalog.pg_stat_activity blocking_activity ON blocking_activity.pid = blocking_locks.pid
WHERE NOT blocked_locks.granted
"""


def connect(dbname=DB, async_=False, application="bench"):
    conn = psycopg2.connect(dbname=dbname, application_name=application, async_=1 if async_ else 0)
    if async_:
        wait(conn)
    else:
        conn.autocommit = True
    return conn


def wait(conn):
    while conn.poll() != psycopg2.extensions.POLL_OK:
        time.sleep(0.001)


def admin(sql, *args):
    conn = connect("postgres")
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


def statement_means():
    """Server time per statement kind, from pg_stat_statements: {kind: (calls, mean_ms, max_ms)}."""
    rows = admin("""
        SELECT CASE
                 WHEN query LIKE '%%pg_stat_get_backend_idset%%' THEN 'pgwarden idle poll'
                 WHEN query LIKE '%%pg_blocking_pids(l.pid)%%' THEN 'pgwarden resolve'
                 WHEN query LIKE '%%Get waiting queries%%' OR query LIKE '%%pg_locks.pid AS pid%%' THEN 'pg_activity waiting'
                 WHEN query LIKE '%%Transaction id lock%%' OR query LIKE '%%blocking.pid%%' THEN 'pg_activity blocking'
                 WHEN query LIKE '%%blocked_locks.pid AS blocked_pid%%' THEN 'wiki lock monitoring'
               END AS kind, sum(calls)::int, sum(total_exec_time) / sum(calls), max(max_exec_time)
        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)
        GROUP BY 1""", DB)
    return {kind: (calls, mean, peak) for kind, calls, mean, peak in rows if kind}


def pgwarden_polls(count):
    env = dict(os.environ, PGDATABASE=DB)
    proc = subprocess.Popen([PGWARDEN, "locks", "--json", "--watch", "--interval", "20ms"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for _ in range(count):
        proc.stdout.readline()
    proc.terminate()
    proc.wait()


def make_waiters(m, holders):
    """m waiters in chains of up to 10: an idle-in-transaction reader, an ALTER queued behind it, SELECTs behind that."""
    sessions = []
    chains = (m + 9) // 10
    for chain in range(chains):
        table = f"bench_{chain}"
        holder = connect()
        holder.autocommit = False
        with holder.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")
        holders.append(holder)
        size = min(10, m - chain * 10)
        for index in range(size):
            conn = connect(async_=True)
            sql = f"ALTER TABLE {table} ADD COLUMN c{index} int" if index == 0 else f"SELECT count(*) FROM {table}"
            conn.cursor().execute(sql)
            sessions.append(conn)
            if index == 0:
                time.sleep(0.05)  # the ALTER queues first: the SELECTs wait behind it
    deadline = time.time() + 30
    while time.time() < deadline:
        waiting = admin("SELECT count(*) FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = %s)", DB)[0][0]
        if waiting >= m:
            return sessions
        time.sleep(0.05)
    raise SystemExit(f"only {waiting} of {m} waiters formed")


def cell(n, m):
    idle = [connect() for _ in range(n)]
    holders = []
    waiters = make_waiters(m, holders) if m else []
    admin("SELECT pg_stat_statements_reset()")
    pgwarden_polls(POLLS)
    data = Data.pg_connect(host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]), user=os.environ.get("PGUSER", "postgres"), database=DB)
    for _ in range(POLLS):
        data.pg_get_waiting()
        data.pg_get_blocking()
    wiki = connect()
    with wiki.cursor() as cur:
        for _ in range(POLLS):
            cur.execute(WIKI_QUERY)
            cur.fetchall()
    means = statement_means()
    for conn in idle + holders + waiters + [wiki, data.pg_conn]:
        try:
            conn.close()
        except Exception:
            pass
    return means


def per_poll(means, kinds):
    """Server milliseconds per poll: the sum over the statement kinds of total time / polls."""
    return sum(means.get(kind, (0, 0, 0))[0] * means.get(kind, (0, 0, 0))[1] for kind in kinds) / POLLS


def main():
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB}")
    setup = connect()
    with setup.cursor() as cur:
        for chain in range(10):
            cur.execute(f"CREATE TABLE bench_{chain} (id int PRIMARY KEY)")
    setup.close()
    version = admin("SHOW server_version")[0][0]
    machine = f"{os.cpu_count()} cores, {platform.machine()}, PostgreSQL {version}"
    rows = []
    for n in ([100] if QUICK else [100, 500, 1000]):
        for m in [0, 20, 40, 100]:  # 40: the waiter count DESIGN.md states its target at
            means = cell(n, m)
            pgwarden = per_poll(means, ["pgwarden idle poll", "pgwarden resolve"])
            activity = per_poll(means, ["pg_activity waiting", "pg_activity blocking"])
            wiki = per_poll(means, ["wiki lock monitoring"])
            rows.append((n, m, pgwarden, activity, wiki, pgwarden / activity if activity else float("nan")))
            print(f"N={n:5} M={m:4}  pgwarden {pgwarden:7.3f} ms   pg_activity {activity:7.3f} ms   wiki {wiki:7.3f} ms   ratio {rows[-1][5]:.2f}", flush=True)
    cold = []
    for _ in range(20):
        start = time.perf_counter()
        subprocess.run([PGWARDEN, "locks", "--json"], env=dict(os.environ, PGDATABASE=DB), stdout=subprocess.DEVNULL, check=True)
        cold.append((time.perf_counter() - start) * 1000)
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")

    table = ["| idle sessions N | waiters M | pgwarden ms/poll | pg_activity ms/poll | wiki query ms | pgwarden ÷ pg_activity |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, m, pgwarden, activity, wiki, ratio in rows:
        table.append(f"| {n} | {m} | {pgwarden:.3f} | {activity:.3f} | {wiki:.3f} | {ratio:.2f} |")
    text = "\n".join([
        "# Benchmarks",
        "",
        f"Written by `scripts/bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {machine}.",
        "",
        f"Server time per poll (mean over {POLLS} polls, from `pg_stat_statements`): pgwarden's poll",
        "(`waiting_backends.sql`, plus `lock_waits.sql` when someone waits) beside pg_activity's own",
        "waiting and blocking queries (from the pg_activity package in `.venv`, run through its `Data`",
        "class as pg_activity runs them) and the PostgreSQL wiki's \"Lock Monitoring\" self-join.",
        "Waiters form chains of ten: an idle-in-transaction reader, an ALTER TABLE queued behind it, SELECTs behind that.",
        "Targets (DESIGN.md): idle poll at most 0.2x pg_activity's; with waiters at most 0.4x.",
        "",
        *table,
        "",
        f"Cold start of `pgwarden locks --json` (release build, {len(cold)} runs): median {statistics.median(cold):.1f} ms, "
        f"max {max(cold):.1f} ms.",
        "",
        "Not measured yet (issue 7): pgbench observer effect at 4 Hz, detection latency, blocking_for to signal,",
        "client CPU and peak memory beside pg_activity.",
        "",
    ])
    print(f"cold start: median {statistics.median(cold):.1f} ms")
    with open("BENCHMARKS.md", "w") as handle:
        handle.write(text)


main()
