"""Faults: hostile input: every refusal is one error line and changes nothing."""

import collections
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psycopg2

from pgsession import admin

from faultsuite.common import *  # noqa: F403 (the shared parts)


def refused(arguments, what, *, crontab=None, env=None):
    """pgwarden refuses: non-zero, one `error:` line first, no backtrace; the crontab unchanged."""
    tally.fault(what)
    result = subprocess.run([PGWARDEN] + arguments, capture_output=True, timeout=DEADLINE, env=env)
    error = result.stderr.decode("utf-8", "replace")
    tally.check(result.returncode != 0, f"exit status 0 for {what}")
    first = error.splitlines()[0] if error else ""
    tally.check(first.startswith("error: ") and len(first) < 400, f"not one clear error line: {error[:300]!r}")
    tally.check("Fatal error" not in error and "backtrace" not in error.lower(), f"a crash: {error[:300]!r}")
    tally.check(not any(ord(c) < 32 or ord(c) == 127 for c in error.replace("\n", "")),
                f"control characters in the error: {error[:300]!r}")
    print(f"    {first[:150]}", flush=True)
    if crontab is not None:
        tally.crontab_restored(crontab)
    else:
        tally.recovered += 1
    return error


def hostile_input(databases):
    print("hostile input", flush=True)
    install_crontab(CRONTAB)
    database = databases.fresh()
    files = os.path.join(WORK, "hostile")
    os.makedirs(files)

    def file(name, content):
        path = os.path.join(files, name)
        with open(path, "wb") as handle:
            handle.write(content)
        return path

    # Policy files: each one with a blocker present that must not be signalled.
    blocker = hold_orders(database)
    blocker_pid = blocker.get_backend_pid()
    waiter = queue_alter(database, "hostile")
    rule = b'[[rule]]\nname = "r"\nstate = ["idle in transaction"]\naction = "terminate"\n'
    policies = [
        ("a policy with a 1 MB line", b'# ' + b'x' * 1_000_000 + b'\n' + rule + b'bogus = "' + b'y' * 100_000 + b'"\n'),
        ("a policy with NUL bytes", rule.replace(b'name = "r"', b'name = "r\x00"\x00')),
        ("a policy that is not UTF-8", rule + b'# \xff\xfe\n'),
        ("a policy with an unterminated string", rule + b'action = "terminate\n'),
        ("a policy with a regex that does not compile", rule.replace(b'\naction', b'\nquery = "(a"\naction')),
        # 3,000 deep (6 KB) overflowed the reader's stack: SIGSEGV, nothing on stderr.
        ("a policy nested 3,000 arrays deep", rule + b'users = ' + b'[' * 3000 + b']' * 3000 + b'\n'),
    ]
    for what, content in policies:
        refused(["guard", "--once", "--dsn", f"dbname={database}", "--policy", file("policy.toml", content)], what,
                crontab=CRONTAB)
    tally.fault("a policy whose query regex is built to backtrack, against a matching blocker")
    with blocker.cursor() as cur:  # the blocker's last query: a long run of a's that ends in the wrong letter
        cur.execute("SELECT '" + "a" * 200 + "!' AS x")
    backtracking = rule.replace(b'\naction', b"\nquery = \"^SELECT '(a+)+'\"\naction")
    result = run([PGWARDEN, "guard", "--once", "--dsn", f"dbname={database}", "--policy",
                  file("policy.toml", backtracking)])
    tally.check(result.returncode == 0, f"guard --once exited {result.returncode}: {result.stderr.strip()}")
    still = admin("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", blocker_pid)[0][0]
    if tally.check(still == 1, "the blocker was signalled on a regex that gave up"):
        tally.recovered += 1
    # The control: the same rule without the query would have terminated that blocker.
    control = run([PGWARDEN, "guard", "--once", "--dry-run", "--dsn", f"dbname={database}", "--policy",
                   file("policy.toml", rule)])
    tally.check(f'"pid":{blocker_pid}' in control.stdout.replace(" ", ""),
                f"the control rule did not select the blocker: {control.stdout.strip()[:300]}")
    blocker.close()
    waiter.close()

    # Crontabs.
    # cron refuses a command over 1000 bytes itself ("command too long"); a comment may be any length.
    long_line = "# " + "c" * 60_000 + "\n" + "* * * * * python app-cli " + "x" * 960 + "\n"
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    install_crontab(long_line + CRONTAB)
    tally.fault("a crontab with a 60 kB line and a 1 kB job line: pause, then resume")
    paused = run([PGWARDEN, "workers", "pause", "--match", "app-cli", "--user", USER, "--state-dir", state])
    tally.check(paused.returncode == 0, f"pause exited {paused.returncode}: {paused.stderr.strip()}")
    tally.check(read_crontab().count("#pgwarden:paused:") == 3, "not exactly the three app-cli jobs paused")
    resumed = run([PGWARDEN, "workers", "resume", "--state-dir", state])
    tally.check(resumed.returncode == 0, f"resume exited {resumed.returncode}: {resumed.stderr.strip()}")
    tally.crontab_restored(long_line + CRONTAB)
    hostile_crontab = "* * * * * " + "a" * 100 + "!\n" + CRONTAB
    install_crontab(hostile_crontab)
    refused(["workers", "pause", "--match", "^(a+)+$", "--user", USER, "--state-dir", state],
            "a --match built to backtrack, on a crontab line made for it", crontab=hostile_crontab)
    install_crontab(CRONTAB)
    refused(["workers", "pause", "--match", "app-(cli", "--user", USER, "--state-dir", state],
            "an invalid --match regex", crontab=CRONTAB)
    refused(["workers", "pause", "--match", "app-cli", "--user", "no-such-user-pgwarden", "--state-dir", state],
            "an unknown crontab user", crontab=CRONTAB)
    refused(["upgrade", "--pause-workers", "app-cli", "--crontab-user", USER, "--state-dir", state,
             "--dsn", f"dbname={database}", "--no-interactive", "--", "/nonexistent/alembic", "upgrade", "head"],
            "upgrade of a command that does not exist", crontab=CRONTAB)

    # Connection strings.
    dsns = [
        ("a 100 kB connection string", "dbname=" + "d" * 100_000),
        ("a connection string with an unknown keyword", "dbname=x bogus=1"),
        ("a connection string with an unterminated quote", "dbname='x password=secret"),
        ("a URI with a bad percent-escape", "postgresql://localhost/%zz"),
        ("a connection string naming a socket directory that does not exist", "host=/nonexistent dbname=x"),
    ]
    for what, dsn in dsns:
        error = refused(["locks", "--dsn", dsn], what)
        tally.check("secret" not in error, "a password in the error")
    refused(["upgrade", "--pause-workers", "app-cli", "--crontab-user", USER, "--state-dir", state, "--dsn",
             "host=/nonexistent dbname=x", "--no-interactive", "--", *ALEMBIC, "upgrade", "head"],
            "upgrade against a server that is not there", crontab=CRONTAB)

    # Pidfiles and FIFOs.
    bystander = subprocess.Popen(["sleep", "300"])  # SIGHUP would end it
    pidfiles = [
        ("a pidfile naming an unrelated process", f"{bystander.pid}\n".encode()),
        ("a pidfile of garbage", b"not a pid\n"),
        ("a pidfile with NUL bytes", b"12\x0034\n"),
        ("a huge pidfile", b"9" * 1_000_000),
        ("a pidfile naming pid 1", b"1\n"),
        ("a pidfile naming pid 0 (the process group)", b"0\n"),
        ("a pidfile naming a negative pid", b"-1\n"),
        ("a pidfile naming a pid that does not exist", b"4194303\n"),
    ]
    for what, content in pidfiles:
        refused(["reload", "--uwsgi-pidfile", file("uwsgi.pid", content), "--timeout", "5s"], what)
    tally.check(bystander.poll() is None, "the unrelated process was signalled")
    bystander.kill()
    bystander.wait()
    regular = file("master.fifo", b"")
    refused(["reload", "--uwsgi-fifo", regular, "--timeout", "5s"], "a FIFO swapped for a regular file")
    tally.check(open(regular, "rb").read() == b"", "pgwarden wrote into the regular file")
    refused(["reload", "--uwsgi-fifo", files, "--timeout", "5s"], "a FIFO that is a directory")
    refused(["reload", "--uwsgi-fifo", os.path.join(files, "missing.fifo"), "--timeout", "5s"], "a missing FIFO")
    orphan = os.path.join(files, "orphan.fifo")
    os.mkfifo(orphan)
    refused(["reload", "--uwsgi-fifo", orphan, "--timeout", "5s"], "a FIFO that no uWSGI reads")
    refused(["upgrade", "--pause-workers", "app-cli", "--crontab-user", USER, "--state-dir", state,
             "--uwsgi-fifo", regular, "--dsn", f"dbname={database}", "--no-interactive", "--", *ALEMBIC,
             "upgrade", "head"], "upgrade with its FIFO swapped for a regular file", crontab=CRONTAB)


# ---------------------------------------------------------------- the crontab install, its window widened
