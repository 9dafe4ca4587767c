"""Estimate vs measured: the forecast's expected seconds per statement against the lock hold measured from pg_locks
(first seen granted to last seen, polled every 5 ms by a session of its own), on tables of ~50 MB and ~250 MB (and
~1 GB with --sizes 50,250,1024; issue 25's targets: every ratio within 2x, the median within 1.3x). Each statement runs in BEGIN ... ROLLBACK (VACUUM FULL
on its own), so the table is the same for the next. Replaces the "Estimate vs measured (PostgreSQL N)" section of
BENCHMARKS.md.

    python scripts/bench_estimate.py PGWARDEN [--sizes 50,250]

Needs libpq's environment of a scratch cluster (scripts/pg env)."""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2

PGWARDEN = sys.argv[1]
SIZES = [int(s) for s in (sys.argv[sys.argv.index("--sizes") + 1] if "--sizes" in sys.argv else "50,250").split(",")]
DB = "pgwarden_bench_estimate"
STATEMENTS = [
    ("ALTER COLUMN TYPE (rewrite)", "ALTER TABLE t ALTER COLUMN n TYPE bigint", True),
    ("ADD COLUMN DEFAULT random() (rewrite)", "ALTER TABLE t ADD COLUMN r float8 DEFAULT random()", True),
    ("SET NOT NULL (scan)", "ALTER TABLE t ALTER COLUMN n SET NOT NULL", True),
    ("ADD CONSTRAINT CHECK (scan)", "ALTER TABLE t ADD CONSTRAINT positive CHECK (n > 0)", True),
    ("ADD FOREIGN KEY (validation)", "ALTER TABLE t ADD CONSTRAINT parent FOREIGN KEY (k) REFERENCES parent (id)", True),
    ("CREATE INDEX (int)", "CREATE INDEX t_n ON t (n)", True),
    ("CREATE UNIQUE INDEX (bigint)", "CREATE UNIQUE INDEX t_id ON t (id)", True),
    ("CREATE INDEX (text)", "CREATE INDEX t_pad ON t (pad)", True),
    ("VACUUM FULL", "VACUUM FULL t", False),
    ("CLUSTER", "CLUSTER t USING t_pkey", True),
]


def connect(application):
    conn = psycopg2.connect(dbname=DB, application_name=application)
    conn.autocommit = True
    return conn


def admin(sql):
    conn = psycopg2.connect(dbname="postgres", application_name="pgwarden-bench-estimate")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def prepare(megabytes):
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB}")
    conn = connect("pgwarden-bench-setup")
    rows = megabytes * 1024 * 1024 // 118
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE parent (id int PRIMARY KEY)")
        cur.execute("INSERT INTO parent SELECT generate_series(1, 1000)")
        cur.execute("CREATE TABLE t (id bigint PRIMARY KEY, n int, k int, pad text)")
        cur.execute(
            "INSERT INTO t SELECT g, g, g % 1000 + 1, md5(g::text) || md5((g + 1)::text)"
            f" FROM generate_series(1, {rows}) AS g"
        )
        cur.execute("VACUUM ANALYZE parent")
        cur.execute("VACUUM ANALYZE t")
        cur.execute("SELECT pg_table_size('t'), pg_indexes_size('t')")
        table, indexes = cur.fetchone()
    conn.close()
    return table, indexes


def forecast(state):
    """The forecast of every statement (each in a transaction of its own), and its calibration: measured anew
    (--recalibrate), so that the calibration and the statements it is compared with run minutes apart at most, under
    the same load of a shared machine."""
    path = tempfile.mktemp(suffix=".sql", prefix="pgwarden-bench-estimate-")
    with open(path, "w") as handle:
        handle.write("".join(sql + ";\n" for _, sql, _ in STATEMENTS))
    output = subprocess.run(
        [PGWARDEN, "forecast", "--dsn", f"dbname={DB}", "--sql", path, "--json", "--sample", "0.1s",
         "--no-rehearsal", "--recalibrate", "--state-dir", state],
        check=True, capture_output=True, text=True,
    )
    os.remove(path)
    result = json.loads(output.stdout)
    return [s["estimated_seconds"] for s in result["statements"]], result["calibration"]


def server_settings():
    """What changes a scan's or a rewrite's throughput between majors and servers, as the server reports it."""
    conn = psycopg2.connect(dbname="postgres", application_name="pgwarden-bench-estimate")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN"
            " ('shared_buffers', 'data_checksums', 'io_method', 'io_workers', 'maintenance_work_mem',"
            " 'max_parallel_maintenance_workers', 'wal_level', 'synchronous_commit', 'fsync') ORDER BY name"
        )
        settings = cur.fetchall()
    conn.close()

    def shown(setting, unit):
        if unit == "8kB":
            return f"{int(setting) * 8 // 1024} MB"
        if unit == "kB":
            return f"{int(setting) // 1024} MB"
        return setting

    return ", ".join(f"{name} {shown(setting, unit)}" for name, setting, unit in settings)


def calibration_text(rates):
    mb = lambda key: f"{rates.get(key, 0) / 1048576:.0f} MB/s"
    return (
        f"{rates.get('took_seconds', 0):.1f} s for a {rates.get('table_bytes', 0) / 1048576:.0f} MB scratch table in a"
        f" scratch database: scan {mb('scan_bytes_per_second')} ({mb('read_scan_bytes_per_second')} from outside"
        f" shared buffers), rewrite {mb('rewrite_bytes_per_second')}, index"
        f" build {mb('index_build_bytes_per_second')} (text {mb('text_index_build_bytes_per_second')}), foreign-key"
        f" check {mb('foreign_key_bytes_per_second')}, VACUUM FULL {mb('heap_copy_bytes_per_second')}"
    )


def measure(sql, in_transaction):
    """Seconds the session held a lock on t, from pg_locks: first seen granted to last seen. A CHECKPOINT first, so
    that the statement before (a rewrite rolled back leaves a table's worth of WAL and dirty pages) is not written out
    while this one is timed: each statement is measured as the forecast estimates it, on its own."""
    admin("CHECKPOINT")
    os.sync()  # and the kernel's dirty pages (WAL, files of a rolled-back rewrite) written out, not during the timing
    worker = connect("pgwarden-bench-worker")
    with worker.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    watcher = connect("pgwarden-bench-watcher")
    seen = []
    done = threading.Event()

    def watch():
        with watcher.cursor() as cur:
            while not done.is_set():
                cur.execute(
                    "SELECT 1 FROM pg_locks WHERE pid = %s AND relation = 't'::regclass AND granted", (pid,)
                )
                if cur.fetchone():
                    seen.append(time.perf_counter())
                time.sleep(0.005)

    thread = threading.Thread(target=watch)
    thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    with worker.cursor() as cur:
        if in_transaction:
            cur.execute("BEGIN")
            cur.execute(sql)
            cur.execute("ROLLBACK")
        else:
            cur.execute(sql)
    client = time.perf_counter() - started
    time.sleep(0.05)
    done.set()
    thread.join()
    worker.close()
    watcher.close()
    held = (seen[-1] - seen[0]) if len(seen) >= 2 else client
    return held, client


def main():
    major = subprocess.run(["psql", "-qAtX", "-c", "SHOW server_version_num"], capture_output=True, text=True,
                           check=True).stdout.strip()
    major = int(major) // 10000
    state = tempfile.mkdtemp(prefix="pgwarden-bench-estimate-state-")
    settings = server_settings()
    print(f"PostgreSQL {major}: {settings}", flush=True)
    rows, ratios, calibrations = [], [], []
    for megabytes in SIZES:
        table, indexes = prepare(megabytes)
        started = time.perf_counter()
        estimates, calibration = forecast(state)
        forecast_seconds = time.perf_counter() - started
        calibrations.append((megabytes, calibration or {}))
        print(f"{megabytes} MB: {calibration_text(calibration or {})}", flush=True)
        for (label, sql, in_transaction), estimate in zip(STATEMENTS, estimates):
            held, client = measure(sql, in_transaction)
            expected = estimate["expected"] if estimate else None
            ratio = expected / held if expected and held > 0 else None
            if ratio:
                ratios.append(ratio)
            rows.append((megabytes, table, indexes, label, estimate, held, client, ratio))
            print(f"{megabytes} MB {label}: expected {expected} s, held {held:.2f} s, ratio {ratio}", flush=True)
        print(f"{megabytes} MB: forecast took {forecast_seconds:.1f} s", flush=True)
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    within = sum(1 for r in ratios if 0.5 <= r <= 2)
    median = statistics.median(ratios) if ratios else float("nan")
    table_lines = [
        "| table | statement | estimate s (low–high) | held s (pg_locks) | estimate ÷ held |",
        "| :--- | :--- | ---: | ---: | ---: |",
    ]
    for megabytes, table, indexes, label, estimate, held, client, ratio in rows:
        shown = (f"{estimate['expected']:.2f} ({estimate['low']:.2f}–{estimate['high']:.2f})" if estimate else "none")
        mark = "" if ratio and 0.5 <= ratio <= 2 else " **outside ×2**"
        table_lines.append(
            f"| {table / 1048576:.0f} MB heap + {indexes / 1048576:.0f} MB index | {label} | {shown} | {held:.2f}"
            f" | {ratio:.2f}{mark} |" if ratio else f"| {table / 1048576:.0f} MB | {label} | {shown} | {held:.2f} | — |"
        )
    summary = (f"Targets: every ratio within ×2 — {within} of {len(ratios)}; median within ×1.3 — median {median:.2f}"
               f" ({'met' if 1 / 1.3 <= median <= 1.3 else '**missed**'}).")
    print(f"PostgreSQL {major}: {summary}", flush=True)
    section = "\n".join([
        f"## Estimate vs measured (PostgreSQL {major})",
        "",
        f"Written by `scripts/bench_estimate.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, on a"
        f" machine with {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (the figures move with"
        " its load). The forecast's expected seconds (`--no-rehearsal`, calibrated anew before each size, so that the"
        " calibration and the statements it is compared with run under the same load) against the lock on `t` held by"
        " the statement's session, as pg_locks shows it (polled every 5 ms: granted to released; each statement in"
        " BEGIN … ROLLBACK, VACUUM FULL alone; a CHECKPOINT and a sync before each, so that none is timed while the"
        " one before it is written out). Table `t (id bigint PRIMARY KEY, n int, k int, pad text)`, 66"
        f" characters of text a row. Server: {settings}.",
        "",
        *table_lines,
        "",
        summary,
        "",
        "Calibration (its own cost), before each size:",
        "",
        *[f"- before {megabytes} MB: {calibration_text(rates)}" for megabytes, rates in calibrations],
        "",
    ])
    text = open("BENCHMARKS.md").read() if os.path.exists("BENCHMARKS.md") else "# Benchmarks\n"
    title = re.escape(f"## Estimate vs measured (PostgreSQL {major})")
    text = re.sub(rf"\n{title}\n.*?(?=\n## |\Z)", "\n", text, flags=re.S).rstrip("\n")
    with open("BENCHMARKS.md", "w") as handle:
        handle.write(text + "\n\n" + section)


main()
