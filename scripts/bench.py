"""The measurements behind scripts/bench. Every figure comes from this run, on this machine.

    bench.py PGWARDEN [--quick] [--footprint-only] [--static STATIC] [--baseline BASELINE]

Server time per poll, the observer effect on pgbench, detection latency, blocking_for to signal,
client CPU and memory, and cold start: pgwarden beside pg_activity (its own queries, from the
package in .venv) and the PostgreSQL wiki's "Lock Monitoring" query; with --static, the footprint of
that static build (and of --baseline beside it) from bench_footprint.py. Writes BENCHMARKS.md; with
--footprint-only, measures the footprint alone and replaces only that section.
"""
import datetime
import json
import math
import os
import platform
import random
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import fcntl
import threading
import time

import psycopg2
import psycopg2.extensions
from pgactivity.data import Data

import bench_footprint
from pgsession import admin

PGWARDEN = sys.argv[1]
QUICK = "--quick" in sys.argv


def option(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


STATIC, BASELINE = option("--static"), option("--baseline")
POLLS = 20 if QUICK else 50
WARM = 5
DB = "pgwarden_bench"
ENV = dict(os.environ, PGDATABASE=DB)
PGBENCH = os.path.join(os.environ.get("PGWARDEN_PG_BIN", "/usr/lib/postgresql/15/bin"), "pgbench")

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

KINDS = """
CASE
  WHEN query LIKE '%%pg_stat_get_backend_idset%%' THEN 'pgwarden'
  WHEN query LIKE '%%pg_blocking_pids(l.pid)%%' THEN 'pgwarden'
  WHEN query LIKE '%%blocked_locks.pid AS blocked_pid%%' THEN 'wiki'
  WHEN query LIKE '%%pg_locks%%' THEN 'pg_activity'
END
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


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class Statements:
    """Server time of the bench database's statements since the last take, from pg_stat_statements."""

    def __init__(self):
        # Planning is server time too: a statement sent unnamed is planned at every run.
        admin("ALTER SYSTEM SET pg_stat_statements.track_planning = on")
        admin("SELECT pg_reload_conf()")
        self.conn = connect("postgres", application="bench-stats")
        self.oid = admin("SELECT oid FROM pg_database WHERE datname = %s", DB)[0][0]
        until(lambda: admin("SHOW pg_stat_statements.track_planning")[0][0] == "on")

    def close(self):
        self.conn.close()
        admin("ALTER SYSTEM RESET pg_stat_statements.track_planning")
        admin("SELECT pg_reload_conf()")

    def reset(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_stat_statements_reset()")

    def take(self):
        """{tool: (calls, Sample)}, then reset."""
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT {KINDS} AS tool, sum(calls)::int, sum(total_exec_time), sum(total_plan_time)"
                        " FROM pg_stat_statements WHERE dbid = %s GROUP BY 1", (self.oid,))
            rows = cur.fetchall()
            cur.execute("SELECT pg_stat_statements_reset()")
        return {tool: (calls, Sample(execution, planning)) for tool, calls, execution, planning in rows if tool}


class Sample:
    """Server milliseconds of one poll: execution, planning, and their sum (`total`)."""

    def __init__(self, execution=0.0, planning=0.0):
        self.execution, self.planning = execution, planning
        self.total = execution + planning


def sample_pgwarden(stats, waiting):
    """Server ms of each pgwarden poll: one `locks --watch` process, read between its polls."""
    proc = subprocess.Popen([PGWARDEN, "locks", "--json", "--watch", "--interval", "100ms"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for _ in range(WARM):
        proc.stdout.readline()
    stats.take()
    samples = []
    while len(samples) < POLLS:
        proc.stdout.readline()  # a poll has just ended; the next begins 100 ms after it began
        calls, sample = stats.take().get("pgwarden", (0, Sample()))
        if calls == (2 if waiting else 1):  # exactly one poll in the window
            samples.append(sample)
    proc.terminate()
    proc.wait()
    return samples


def sample_pg_activity(stats):
    data = Data.pg_connect(host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]),
                           user=os.environ.get("PGUSER", "postgres"), database=DB)
    for _ in range(WARM):
        data.pg_get_waiting()
        data.pg_get_blocking()
    stats.take()
    samples = []
    for _ in range(POLLS):
        data.pg_get_waiting()
        data.pg_get_blocking()
        samples.append(stats.take().get("pg_activity", (0, Sample()))[1])
    data.pg_conn.close()
    return samples


def sample_wiki(stats):
    conn = connect()
    samples = []
    with conn.cursor() as cur:
        for index in range(WARM + POLLS):
            if index == WARM:
                stats.take()
            cur.execute(WIKI_QUERY)
            cur.fetchall()
            if index >= WARM:
                samples.append(stats.take().get("wiki", (0, Sample()))[1])
    conn.close()
    return samples


def make_waiters(m):
    """m waiters in chains of up to 10: an idle-in-transaction reader, an ALTER queued behind it, SELECTs behind that."""
    sessions = []
    for chain in range((m + 9) // 10):
        table = f"bench_{chain}"
        holder = connect()
        holder.autocommit = False
        with holder.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")
        sessions.append(holder)
        for index in range(min(10, m - chain * 10)):
            conn = connect(async_=True)
            sql = f"ALTER TABLE {table} ADD COLUMN c{index} int" if index == 0 else f"SELECT count(*) FROM {table}"
            conn.cursor().execute(sql)
            sessions.append(conn)
            if index == 0:  # the ALTER queues first: the SELECTs wait behind it
                until(lambda: waiting_count() >= chain * 10 + 1)
    until(lambda: waiting_count() >= m)
    return sessions


def waiting_count():
    return admin("SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
                 "(SELECT oid FROM pg_database WHERE datname = %s)", DB)[0][0]


def until(probe, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if probe():
            return
        time.sleep(0.01)
    raise SystemExit("bench: timed out setting up")


def close_all(conns):
    for conn in conns:
        try:
            conn.close()
        except Exception:
            pass


def server_time(stats):
    rows = []
    for n in ([100] if QUICK else [100, 500, 1000]):
        idle = [connect() for _ in range(n)]
        for m in [0, 20, 40, 100]:  # 40: the waiter count DESIGN.md states its target at
            sessions = make_waiters(m) if m else []
            result = (n, m, sample_pgwarden(stats, waiting=m > 0), sample_pg_activity(stats), sample_wiki(stats))
            close_all(sessions)
            until(lambda: waiting_count() == 0)
            rows.append(result)
            pgw, pga, wiki = (statistics.mean(sample.total for sample in s) for s in result[2:])
            print(f"N={n:5} M={m:4}  pgwarden {pgw:6.3f} ms  pg_activity {pga:6.3f} ms  wiki {wiki:6.3f} ms"
                  f"  ratio {pgw / pga:.2f}", flush=True)
        close_all(idle)
    return rows


def pgbench_tps(seconds):
    result = subprocess.run([PGBENCH, "-n", "-S", "-c", "2", "-j", "2", "-T", str(seconds), DB],
                            capture_output=True, text=True, check=True, env=ENV)
    for line in result.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise SystemExit("bench: no tps in pgbench's output")


def observer_effect():
    """pgbench -S beside nothing, pgwarden at 4 Hz, pg_activity's queries at 4 Hz: interleaved rounds."""
    subprocess.run([PGBENCH, "-i", "-q", "-s", "10", DB], capture_output=True, check=True, env=ENV)
    idle = [connect() for _ in range(100)]
    seconds = 5 if QUICK else 10
    rounds = 2 if QUICK else 3
    tps = {"none": [], "pgwarden": [], "pg_activity": []}
    for _ in range(rounds):
        tps["none"].append(pgbench_tps(seconds))
        poller = subprocess.Popen([PGWARDEN, "locks", "--json", "--watch", "--interval", "250ms"], env=ENV,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tps["pgwarden"].append(pgbench_tps(seconds))
        poller.terminate()
        poller.wait()
        stop = threading.Event()

        def pg_activity_at_4_hz():
            data = Data.pg_connect(host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]),
                                   user=os.environ.get("PGUSER", "postgres"), database=DB)
            next_poll = time.monotonic()
            while not stop.is_set():
                data.pg_get_waiting()
                data.pg_get_blocking()
                next_poll += 0.25
                stop.wait(max(0.0, next_poll - time.monotonic()))
            data.pg_conn.close()

        thread = threading.Thread(target=pg_activity_at_4_hz)
        thread.start()
        tps["pg_activity"].append(pgbench_tps(seconds))
        stop.set()
        thread.join()
    close_all(idle)
    means = {key: statistics.mean(values) for key, values in tps.items()}
    print(f"pgbench -S tps: " + ", ".join(f"{k} {v:.0f}" for k, v in means.items()), flush=True)
    return tps, seconds


class Watch:
    """`pgwarden locks --watch --json` whose snapshots are read as they arrive, with their arrival time."""

    def __init__(self, interval):
        self.proc = subprocess.Popen([PGWARDEN, "locks", "--json", "--watch", "--interval", interval], env=ENV,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.seen = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            arrived = time.time()
            for wait in json.loads(line).get("waits", []):
                with self.lock:
                    self.seen.setdefault(wait["pid"], arrived)

    def arrival(self, pid):
        with self.lock:
            return self.seen.get(pid)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def queue_waiter(application="bench-waiter"):
    """An idle-in-transaction holder and an ALTER queued behind it; returns them and the wait's start (epoch)."""
    holder = connect()
    holder.autocommit = False
    with holder.cursor() as cur:
        cur.execute("SELECT count(*) FROM bench_9")
    waiter = connect(async_=True, application=application)
    statement = waiter.cursor()  # kept: psycopg2 drops an asynchronous query whose cursor is gone
    statement.execute("ALTER TABLE bench_9 ADD COLUMN IF NOT EXISTS probe int")
    pid = waiter.get_backend_pid()
    start = []
    until(lambda: start.extend(r[0] for r in admin(
        "SELECT extract(epoch FROM waitstart)::float8 FROM pg_locks WHERE pid = %s AND NOT granted "
        "AND waitstart IS NOT NULL", pid, dbname=DB)) or start)
    return holder, (waiter, statement), pid, start[0]


def detection_latency(trials):
    watch = Watch("250ms")
    latencies = []
    for _ in range(trials):
        time.sleep(random.uniform(0, 0.25))  # a wait starts at any moment of the poll cycle, not just after a poll
        holder, waiter, pid, waitstart = queue_waiter()
        until(lambda: watch.arrival(pid) is not None)
        latencies.append((watch.arrival(pid) - waitstart) * 1000)
        holder.rollback()
        wait(waiter[0])
        close_all([holder, waiter[0]])
    watch.stop()
    print(f"detection latency at 250 ms: median {statistics.median(latencies):.0f} ms, "
          f"max {max(latencies):.0f} ms", flush=True)
    return latencies


def signal_latency(trials):
    """From a wait crossing blocking_for (1 s) to the guard signalling its blocker, at the default 500 ms interval."""
    directory = tempfile.mkdtemp(prefix="pgwarden-bench-")
    policy = os.path.join(directory, "policy.toml")
    audit = os.path.join(directory, "audit.jsonl")
    with open(policy, "w") as handle:
        handle.write('[[rule]]\nname = "idle blockers"\nblocking_for = "1s"\nstate = ["idle in transaction"]\n'
                     'waiter_application_name = "bench-waiter"\naction = "terminate"\n')
    guard = subprocess.Popen([PGWARDEN, "guard", "--policy", policy, "--audit-log", audit], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies = []
    for _ in range(trials):
        time.sleep(random.uniform(0, 0.5))  # a wait starts at any moment of the guard's poll cycle
        holder, waiter, pid, waitstart = queue_waiter()
        blocker = holder.get_backend_pid()
        found = []

        def signalled():
            if os.path.exists(audit):
                with open(audit) as handle:
                    for line in handle:
                        entry = json.loads(line)
                        if entry["blocker"]["pid"] == blocker and entry["outcome"] == "signalled":
                            found.append(entry["time"])
            return found

        until(signalled)
        acted = datetime.datetime.fromisoformat(found[0].replace("Z", "+00:00")).timestamp()
        latencies.append((acted - (waitstart + 1.0)) * 1000)
        wait(waiter[0])
        close_all([holder, waiter[0]])
    guard.terminate()
    guard.wait()
    print(f"blocking_for to signal: median {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms",
          flush=True)
    return latencies


def migration_queueing(trials):
    """Web-like reads of bench_9 every 5 ms while `pgwarden upgrade` runs an ALTER TABLE behind a forgotten
    transaction: with a runtime rule (blocking_for 0s, the fastest a rule can act) and with [preflight]."""
    directory = tempfile.mkdtemp(prefix="pgwarden-bench-")
    policies = {
        "runtime rule": '[[rule]]\nname = "idle"\nblocking_for = "0s"\nstate = ["idle in transaction"]\n'
                        'action = "terminate"\n',
        "[preflight]": '[preflight]\nterminate_idle_in_transaction = "200ms"\n',
    }
    psql = os.path.join(os.environ.get("PGWARDEN_PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")
    results = {}
    for label, text in policies.items():
        policy = os.path.join(directory, "policy.toml")
        with open(policy, "w") as handle:
            handle.write(text)
        worst, slow, total = [], 0, 0
        for trial in range(trials):
            column = f"probe_{len(results)}_{trial}"
            sql = os.path.join(directory, "migration.sql")
            with open(sql, "w") as handle:
                handle.write(f"ALTER TABLE bench_9 ADD COLUMN {column} int;\n")
            holder = connect(application="forgotten")
            holder.autocommit = False
            with holder.cursor() as cur:
                cur.execute("SELECT count(*) FROM bench_9")
            time.sleep(0.3)  # older than the 200 ms of [preflight]
            latencies, stop = [], threading.Event()

            def reads():
                reader = connect(application="web")
                reader.autocommit = True
                with reader.cursor() as cur:
                    while not stop.is_set():
                        started = time.monotonic()
                        cur.execute("SELECT count(*) FROM bench_9")
                        latencies.append((time.monotonic() - started) * 1000)
                        time.sleep(0.005)
                reader.close()

            load = threading.Thread(target=reads)
            load.start()
            run = subprocess.run(
                [PGWARDEN, "upgrade", "--no-interactive", "--policy", policy, "--state-dir",
                 os.path.join(directory, f"state-{len(results)}-{trial}"), "--forecast-sql", sql, "--",
                 psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", sql],
                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
            stop.set()
            load.join()
            if run.returncode != 0:
                raise RuntimeError(f"upgrade ({label}) exited {run.returncode}: {run.stderr.decode()[-500:]}")
            close_all([holder])
            worst.append(max(latencies))
            slow += sum(1 for value in latencies if value > 100)
            total += len(latencies)
        results[label] = (worst, slow, total)
        print(f"reads during the migration, {label}: worst median {statistics.median(worst):.0f} ms, "
              f"max {max(worst):.0f} ms; over 100 ms: {slow} of {total}", flush=True)
    return results


def process_cost(pid):
    """(CPU seconds, peak resident MB, resident private MB) of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    with open(f"/proc/{pid}/status") as handle:
        status = {line.split(":")[0]: line.split()[1] for line in handle if line.startswith(("VmHWM", "RssAnon"))}
    return cpu, int(status["VmHWM"]) / 1024, int(status["RssAnon"]) / 1024


def client_cost(seconds):
    """pgwarden locks --watch and pg_activity, both refreshing every second, side by side for the same seconds."""
    idle = [connect() for _ in range(100)]
    sessions = make_waiters(20)
    pgwarden = subprocess.Popen([PGWARDEN, "locks", "--watch", "--interval", "1s"], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child, terminal = pty.fork()
    if child == 0:
        os.environ["TERM"] = "xterm"
        os.execv(os.path.join(os.path.dirname(sys.executable), "pg_activity"),
                 ["pg_activity", "--refresh", "1", "--no-db-size", "-h", os.environ["PGHOST"], "-p",
                  os.environ["PGPORT"], "-U", os.environ.get("PGUSER", "postgres"), "-d", DB])
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))

    def drain():
        try:
            while os.read(terminal, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    time.sleep(seconds)  # the measurement window itself
    costs = {"pgwarden": process_cost(pgwarden.pid), "pg_activity": process_cost(child)}
    pgwarden.terminate()
    pgwarden.wait()
    os.kill(child, 15)
    os.waitpid(child, 0)
    close_all(sessions + idle)
    print("client cost: " + ", ".join(f"{k} {c:.2f} s CPU, peak {m:.1f} MB, private {p:.1f} MB"
                                      for k, (c, m, p) in costs.items()), flush=True)
    return costs


def cold_start(runs=30):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([PGWARDEN, "locks", "--json"], env=ENV, stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def pg_activity_in_terminal():
    """pg_activity refreshing every second in a pseudo-terminal that something reads; (pid, stop)."""
    child, terminal = pty.fork()
    if child == 0:
        os.environ["TERM"] = "xterm"
        os.execv(os.path.join(os.path.dirname(sys.executable), "pg_activity"),
                 ["pg_activity", "--refresh", "1", "--no-db-size", "-h", os.environ["PGHOST"], "-p",
                  os.environ["PGPORT"], "-U", os.environ.get("PGUSER", "postgres"), "-d", DB])
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))

    def drain():
        try:
            while os.read(terminal, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()

    class Child:
        pid = child

        def terminate(self):
            os.kill(child, 15)

        def wait(self):
            os.waitpid(child, 0)

    return Child()


def footprint():
    """bench_footprint's figures for the static build (and the baseline), under the bench's loads."""
    programs = {"pgwarden": STATIC}
    if BASELINE:
        programs[os.environ.get("PGWARDEN_BENCH_BASELINE_NAME") or "baseline"] = BASELINE
    figures = {"programs": programs, "sizes": {name: bench_footprint.sizes(path) for name, path in programs.items()}}
    figures["cold_rss"] = bench_footprint.cold_rss(programs, ENV)
    figures["cold_wall"] = bench_footprint.cold_wall(programs, ENV)
    figures["breakdown"] = bench_footprint.resident_breakdown(programs, ENV)
    idle = [connect() for _ in range(100)]
    sessions = make_waiters(20)
    figures["guard"] = bench_footprint.guard_rss(programs, ENV, pg_activity_in_terminal, 10 if QUICK else 60)
    close_all(sessions + idle)
    directory = tempfile.mkdtemp(prefix="pgwarden-footprint-")
    policy = os.path.join(directory, "policy.toml")
    with open(policy, "w") as handle:
        handle.write('[preflight]\nterminate_idle_in_transaction = "200ms"\n')
    runs = iter(range(1000))

    def migration():
        run = next(runs)
        sql = os.path.join(directory, f"migration-{run}.sql")
        with open(sql, "w") as handle:
            handle.write(f"ALTER TABLE bench_9 ADD COLUMN footprint_{run} int;\n")
        holder = connect(application="forgotten")
        holder.autocommit = False
        with holder.cursor() as cur:
            cur.execute("SELECT count(*) FROM bench_9")
        time.sleep(0.3)  # older than the 200 ms of [preflight]
        holders.append(holder)
        psql = os.path.join(os.environ.get("PGWARDEN_PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")
        return ["upgrade", "--no-interactive", "--policy", policy, "--state-dir", os.path.join(directory, f"s{run}"),
                "--forecast-sql", sql, "--", psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", sql]

    holders = []
    figures["upgrade"] = bench_footprint.upgrade_rss(programs, ENV, migration)
    close_all(holders)
    section = bench_footprint.markdown(figures)
    print(section, flush=True)
    return section


def footprint_only():
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB}")
    for chain in range(10):
        admin(f"CREATE TABLE bench_{chain} (id int PRIMARY KEY)", dbname=DB)
    section = footprint()
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    bench_footprint.replace_section("BENCHMARKS.md", section)


def main():
    if "--footprint-only" in sys.argv:
        return footprint_only()
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB}")
    for chain in range(10):
        admin(f"CREATE TABLE bench_{chain} (id int PRIMARY KEY)", dbname=DB)
    version = admin("SHOW server_version")[0][0]
    cores = os.cpu_count()
    machine = f"{cores} cores ({platform.machine()}), PostgreSQL {version}, max_connections " \
              f"{admin('SHOW max_connections')[0][0]}"
    print(machine, flush=True)
    stats = Statements()
    rows = server_time(stats)
    tps, tps_seconds = observer_effect()
    detection = detection_latency(10 if QUICK else 20)
    signalling = signal_latency(5 if QUICK else 10)
    queueing = migration_queueing(3 if QUICK else 8)
    costs = client_cost(10 if QUICK else 30)
    cold = cold_start()
    footprint_section = footprint() if STATIC else ""
    stats.close()
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")

    def cell(samples):
        totals = [sample.total for sample in samples]
        return f"{statistics.mean(totals):.3f} / {percentile(totals, 0.95):.3f}"

    def mean(samples, part="total"):
        return statistics.mean(getattr(sample, part) for sample in samples)

    table = [
        "| N idle | M waiting | pgwarden mean / p95 ms | pg_activity mean / p95 ms | wiki query mean / p95 ms "
        "| pgwarden ÷ pg_activity (mean) | target | execution alone: ÷ pg_activity |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | :--- | ---: |"]
    verdicts = []
    for n, m, pgw, pga, wiki in rows:
        ratio = mean(pgw) / mean(pga)
        execution_ratio = mean(pgw, "execution") / mean(pga, "execution")
        target = 0.2 if m == 0 else 0.4 if m == 40 else None
        verdict = "" if target is None else f"≤ {target}× {'met' if ratio <= target else '**missed**'}"
        if target is not None:
            verdicts.append((n, m, ratio, target))
        table.append(f"| {n} | {m} | {cell(pgw)} | {cell(pga)} | {cell(wiki)} | {ratio:.2f} | {verdict} "
                     f"| {execution_ratio:.2f} |")
    idle_row = next(row for row in rows if row[0] == 100 and row[1] == 0)
    idle_poll = {"pgwarden": mean(idle_row[2]), "pg_activity": mean(idle_row[3])}
    none = statistics.mean(tps["none"])
    effect = {key: (statistics.mean(values) - none) / none * 100 for key, values in tps.items()}
    text = "\n".join([
        "# Benchmarks",
        "",
        f"Written by `scripts/bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"{' (--quick)' if QUICK else ''}. Machine: {machine}. Every figure below is from that one run.",
        "",
        "## Server time per poll",
        "",
        f"Server time of each poll, planning and execution, from `pg_stat_statements` with `track_planning` on,",
        f"read and reset between polls ({POLLS} polls after {WARM} to warm the caches; mean and 95th percentile;",
        "the last column compares execution alone, as runs before 2026-12-02 did). pgwarden: its `locks --watch`",
        "process, so `waiting_backends.sql`, plus `lock_waits.sql` when someone waits, both prepared once per",
        "session (pg_activity and the wiki query send theirs unnamed, planned at every run). pg_activity 3.6: its own waiting and",
        "blocking queries, through its `Data` class as pg_activity runs them. Wiki: the PostgreSQL wiki's \"Lock",
        "Monitoring\" self-join. N idle client sessions; M waiters in chains of ten (an idle-in-transaction",
        "reader, an ALTER TABLE queued behind it, SELECTs behind that). Targets (DESIGN.md): idle at most 0.2×",
        "pg_activity's, 40 waiters at most 0.4×.",
        "",
        *table,
        "",
        "## Observer effect",
        "",
        f"pgbench `-S -c 2 -j 2` throughput, {len(tps['none'])} interleaved rounds of {tps_seconds} s each,"
        " 100 idle sessions, nobody waiting. Target: under 1 % at 4 Hz.",
        "",
        "| poller | tps (each round) | mean tps | change |",
        "| :--- | :--- | ---: | ---: |",
        *[f"| {label} | {', '.join(f'{v:.0f}' for v in tps[key])} | {statistics.mean(tps[key]):.0f} | "
          f"{effect[key]:+.2f} % |"
          for key, label in [("none", "none"), ("pgwarden", "pgwarden `locks --watch --interval 250ms`"),
                             ("pg_activity", "pg_activity's waiting + blocking queries, 4 Hz")]],
        "",
        f"On {cores} cores the client, pgbench and the server share the CPU, so rounds differ by more than",
        "either poller's share: read the change beside the spread of the `none` rounds. The server time the",
        "polls cost bounds the effect more finely (first table, N=100, M=0, times 4 polls a second): pgwarden",
        f"{idle_poll['pgwarden'] * 4:.2f} ms of server CPU per second ({idle_poll['pgwarden'] * 4 / 10 / cores:.3f} % of"
        f" the machine), pg_activity {idle_poll['pg_activity'] * 4:.2f} ms "
        f"({idle_poll['pg_activity'] * 4 / 10 / cores:.3f} %).",
        "",
        "## Latency",
        "",
        f"- Detection: from a waiter's `pg_locks.waitstart` to its snapshot reaching the reader of",
        f"  `pgwarden locks --watch --json --interval 250ms` (upgrade's default interval), {len(detection)} waits:",
        f"  median {statistics.median(detection):.0f} ms, p95 {percentile(detection, 0.95):.0f} ms, "
        f"max {max(detection):.0f} ms. Contract: one interval plus the query time.",
        f"- `blocking_for` to signal: `pgwarden guard` at its default 500 ms interval, a rule with",
        f"  `blocking_for = \"1s\"`; from waitstart + 1 s to the audit line's time (the poll that signalled),",
        f"  {len(signalling)} blockers: median {statistics.median(signalling):.0f} ms, "
        f"p95 {percentile(signalling, 0.95):.0f} ms, max {max(signalling):.0f} ms.",
        "",
        "## Requests during a migration behind a forgotten transaction",
        "",
        "A session sits idle in transaction on `bench_9` (it read it 0.3 s earlier); a web-like client reads",
        "`bench_9` every 5 ms; `pgwarden upgrade --forecast-sql` runs `ALTER TABLE bench_9 ADD COLUMN` through psql.",
        "With a runtime rule (`blocking_for = \"0s\"`, terminate idle transactions: the fastest a rule can act, at",
        "upgrade's 250 ms interval) the ALTER queues behind the idle transaction and the reads queue behind the",
        "ALTER until the next poll signals. With `[preflight] terminate_idle_in_transaction = \"200ms\"` the",
        "forecast names the holder and it is terminated before the ALTER starts. Worst read per run, "
        f"{len(queueing['[preflight]'][0])} runs each:",
        "",
        "| policy | worst read, median ms | worst read, max ms | reads over 100 ms |",
        "| :--- | ---: | ---: | ---: |",
        *[f"| {label} | {statistics.median(worst):.0f} | {max(worst):.0f} | {slow} of {total} |"
          for label, (worst, slow, total) in queueing.items()],
        "",
        "## Client cost",
        "",
        f"`pgwarden locks --watch --interval 1s` and `pg_activity --refresh 1` (in a pseudo-terminal), side by side",
        f"for the same {10 if QUICK else 30} s, 100 idle sessions and 20 waiters. CPU from /proc (user + system),",
        "peak resident memory from VmHWM (shared libraries' pages included), private memory from RssAnon at the end.",
        "",
        "| client | CPU s | share of a core | peak RSS MB | private MB |",
        "| :--- | ---: | ---: | ---: | ---: |",
        *[f"| {name} | {cpu:.2f} | {cpu / (10 if QUICK else 30) * 100:.2f} % | {peak:.1f} | {private:.1f} |"
          for name, (cpu, peak, private) in costs.items()],
        "",
        f"Cold start of `pgwarden locks --json` (release build, connect + one poll, {len(cold)} runs): "
        f"median {statistics.median(cold):.1f} ms, p95 {percentile(cold, 0.95):.1f} ms.",
        "",
    ]) + ("\n" + footprint_section if footprint_section else "")
    print(f"cold start: median {statistics.median(cold):.1f} ms")
    for n, m, ratio, target in verdicts:
        print(f"target N={n} M={m}: {ratio:.2f} vs ≤ {target} {'met' if ratio <= target else 'MISSED'}")
    print("observer effect: " + ", ".join(f"{k} {v:+.2f} %" for k, v in effect.items() if k != "none"))
    with open("BENCHMARKS.md", "w") as handle:
        handle.write(text)


main()
