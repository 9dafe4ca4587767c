"""Faults: a session of the run that outlives its command; workers stopped precisely; recover --stop-migration."""

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


DAEMONISED_CHILD = r"""
import os, sys, time
import psycopg2
database, ready, output = sys.argv[1], sys.argv[2], sys.argv[3]
if os.fork() == 0:
    os.setsid()  # out of the migration's process group, as a daemon would
    if output == "close":
        null = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(null, descriptor)
    connection = psycopg2.connect(dbname=database)  # PGAPPNAME, inherited: the run's name
    connection.cursor().execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    open(ready, "w").close()
    time.sleep(300)
    os._exit(0)
while not os.path.exists(ready):
    time.sleep(0.02)
print("migration done; a daemonised child keeps its session")
"""


def access_exclusive_on_orders(database):
    return admin("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation AND c.relname = 'orders'"
                 " JOIN pg_database d ON d.oid = l.database AND d.datname = %s"
                 " WHERE l.mode = 'AccessExclusiveLock' AND l.granted", database)[0][0]


def outliving_sessions(databases):
    print("a daemonised child of the migration keeps the run's session, holding ACCESS EXCLUSIVE", flush=True)
    for closes_output in (True, False):
        outliving_session(databases, closes_output)


def outliving_session(databases, closes_output):
    install_crontab(CRONTAB)
    tally.fault("a setsid'd child of the migration holds ACCESS EXCLUSIVE after the command exits 0, "
                + ("its output closed" if closes_output else "keeping the command's output open"))
    database = databases.fresh()
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    script = os.path.join(state, "daemonising-migration.py")
    with open(script, "w") as handle:
        handle.write(DAEMONISED_CHILD)
    ready = os.path.join(state, "child-ready")
    command = Command(upgrade_arguments(database, state, migration=[
        f"{ROOT}/.venv/bin/python", script, database, ready, "close" if closes_output else "keep"]))
    status = command.finish()
    held = access_exclusive_on_orders(database)
    tally.check(held == 0, f"the run returned while {held} ACCESS EXCLUSIVE lock(s) of its session were held")
    tally.check(status != 0, "the run exited 0 although its session outlived the command")
    with open(os.path.join(state, "report.json")) as handle:
        report = json.load(handle)
    tally.check(report["outcome"] != "succeeded", f"outcome {report['outcome']}")
    tally.check(any("outlived its command: stopped pid" in warning or "outlived its command: terminated pid" in
                    warning for warning in report["warnings"]),
                f"the report names neither the stopped process nor the terminated session: {report['warnings']}")
    tally.check(not [pid for pid in children_of(1) if b"daemonising-migration" in b" ".join(command_line(pid))],
                f"the daemonised child still runs: {report['warnings']}")
    tally.crontab_restored(CRONTAB)


# ---------------------------------------------------------------- stopping workers precisely

FAKE_CRON = """#!/usr/bin/python3
# A stand-in for the cron daemon with its process shape: named cron, root, a session per job, the job run as the user.
import os, sys, time
user, command = sys.argv[1], sys.argv[2]
if os.fork() == 0:
    os.setsid()
    os.execvp("runuser", ["runuser", "-u", user, "--", "sh", "-c", command])
time.sleep(600)
"""

FORKING_WORKER = """
import os, subprocess, sys, time
subprocess.Popen(["sleep", "300"])  # a child whose command line does not match
if os.fork() == 0:  # a grandchild re-parented away from the worker: only its session says whose it is
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "301"])
    os._exit(0)
open(sys.argv[1], "w").close()
time.sleep(300)
"""


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else int(fields[19])


def session_members(session):
    members = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    stat = handle.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) == session and fields[0] != "Z":
                members[int(name)] = int(fields[19])
    return members


def alive(identity):
    pid, started = identity
    return start_time(pid) == started


def precise_stops(databases):
    print("stopping workers: a forked worker child, the operator's tail -f decoy", flush=True)
    directory = tempfile.mkdtemp(prefix="pgwarden-faults-cron-")  # the test user must reach it: not under WORK
    os.chmod(directory, 0o777)
    cron = os.path.join(directory, "cron")
    with open(cron, "w") as handle:
        handle.write(FAKE_CRON)
    os.chmod(cron, 0o755)
    worker_script = os.path.join(directory, "worker.py")
    with open(worker_script, "w") as handle:
        handle.write(FORKING_WORKER)
    os.chmod(worker_script, 0o644)
    log = os.path.join(directory, "app-cli.log")
    open(log, "w").close()
    os.chmod(log, 0o644)
    for scope in ("cron", "user"):
        install_crontab(CRONTAB)
        tally.fault(f"--stop term --stop-scope {scope}: a worker started by cron that forked, beside an operator's "
                    "tail -f app-cli.log")
        ready = os.path.join(directory, f"ready-{scope}")
        daemon = subprocess.Popen([cron, USER, f"python3 {worker_script} {ready} app-cli process-queue"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        decoy = subprocess.Popen(["runuser", "-u", USER, "--", "tail", "-f", log], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stray_processes.extend([daemon, decoy])
        eventually("the worker runs", lambda: os.path.exists(ready))
        job = children_of(daemon.pid)[0]
        eventually("the worker's children run", lambda: len(session_members(job)) >= 5)
        workers = [(pid, started) for pid, started in session_members(job).items() if pid != job]
        tail = eventually("the decoy runs", lambda: next((c for c in children_of(decoy.pid)), None))
        decoy_identity = (tail, start_time(tail))
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        result = run_pgwarden(["workers", "pause", "--user", USER, "--match", "app-cli", "--stop", "term",
                               "--grace", "2s", "--stop-scope", scope, "--state-dir", state])
        tally.check(result.returncode == 0, f"pause exited {result.returncode}: {result.stderr.strip()}")
        survivors = [identity for identity in workers if alive(identity)]
        tally.check(not survivors, f"worker processes survived: {survivors} ({result.stdout.strip()[-300:]})")
        if scope == "cron":
            wrong = 0 if alive(decoy_identity) else 1
            tally.wrongly_signalled += wrong
            tally.check(not wrong, "the operator's tail -f was signalled")
            tally.check(f"pid {tail} matching, not started by cron: left running" in result.stdout,
                        f"the decoy is not listed as left running: {result.stdout.strip()[-300:]}")
        else:
            tally.check(not alive(decoy_identity), "--stop-scope user left a matching process running")
        resumed = run_pgwarden(["workers", "resume", "--state-dir", state])
        tally.check(resumed.returncode == 0, f"resume exited {resumed.returncode}")
        tally.crontab_restored(CRONTAB)
        for process in (daemon, decoy):
            process.kill()
            process.wait()
        for pid, started in workers + [decoy_identity]:
            if start_time(pid) == started:
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(directory, ignore_errors=True)


# ---------------------------------------------------------------- recover --stop-migration

def recover_stops_migration(databases):
    print("kill -9 of the supervisor mid-wait, then recover --stop-migration", flush=True)
    install_crontab(CRONTAB)
    tally.fault("kill -9 while the migration waits on a lock; recover --stop-migration")
    run = Run(databases)
    blocker = hold_orders(run.database)
    reach(run, None)
    run.command.kill_hard()
    with open(os.path.join(run.state, "upgrade-run.json")) as handle:
        journal = json.load(handle)
    migration = (journal["migration_pid"], journal.get("migration_start_time"))
    tally.check(migration[1] is not None and alive(migration), f"the migration is not running: {migration}")
    result = run_pgwarden(["recover", "--stop-migration", "--dsn", f"dbname={run.database}", "--state-dir",
                           run.state])
    tally.check(result.returncode == 0, f"recover exited {result.returncode}: {result.stderr.strip()}")
    tally.check(f"stopped the migration (pid {migration[0]})" in result.stdout, f"recover: {result.stdout.strip()}")
    tally.check(not alive(migration), "the migration still runs")
    sessions = admin("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                     f"pgwarden-migration-{journal['run_id']}")[0][0]
    tally.check(sessions == 0, f"{sessions} sessions of the run are left")
    tally.crontab_restored(CRONTAB)
    blocker.close()


# ---------------------------------------------------------------- random kill -9s, on a crontab that is not UTF-8
