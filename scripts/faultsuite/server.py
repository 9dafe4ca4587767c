"""Faults: the server restarted under upgrade and guard; a configuration-management run rewriting a paused crontab."""

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


def server_restarts(databases):
    print("the PostgreSQL server restarted while upgrade and guard watch", flush=True)
    install_crontab(CRONTAB)
    tally.fault("server restart during an upgrade")
    policy = write_policy("terminate-idle.toml", blocking_for="1s")
    release = os.path.join(WORK, "migration-may-start")
    # The migration itself starts only when told: the restart happens while only pgwarden is connected.
    migration = [sys.executable, "-c",
                 "import os, subprocess, sys, time\n"
                 f"while not os.path.exists({release!r}): time.sleep(0.02)\n"
                 "sys.exit(subprocess.call(sys.argv[1:]))", *ALEMBIC, "upgrade", "head"]
    run = Run(databases, extra=["--policy", policy], migration=migration)
    run.command.wait_for("migration attempt 1 starts")
    restart_server()
    run.command.wait_for("reconnected to the database")
    blocker = hold_orders(run.database)
    open(release, "w").close()
    status = run.command.finish()
    report = run.report()
    tally.check(status == 0, f"exit status {status}: {' | '.join(run.command.lines[-5:])}")
    tally.check(report["outcome"] == "succeeded", f"outcome {report['outcome']}")
    acted = [b for wait in report.get("lock_waits", []) for b in wait.get("blockers", [])
             if b.get("action") == "terminate"]
    tally.check(bool(acted), "after reconnecting, the policy did not terminate the blocker")
    tally.check(alembic_version(run.database) == "0002", "the migration did not reach head")
    tally.crontab_restored(CRONTAB)
    blocker.close()

    tally.fault("server restart under guard")
    database = databases.fresh()
    audit = os.path.join(WORK, "audit.jsonl")
    guard_policy = write_policy("guard.toml", blocking_for="0s", interval="100ms", waiter="faults-waiter")
    guard = Command(["guard", "--policy", guard_policy, "--dsn", f"dbname={database}", "--audit-log", audit],
                    env=dict(os.environ, PGWARDEN_LOG_LEVEL="info"))
    guard.wait_for("connected; polling")
    restart_server()
    guard.wait_for("lost the connection")
    guard.wait_for("connected; polling", count=2)
    blocker = hold_orders(database)
    waiter = queue_alter(database, "c")
    eventually("the guard terminates the blocker", lambda: terminated_in(audit))
    guard.process.send_signal(signal.SIGTERM)
    tally.check(guard.finish() == 0, "guard did not exit 0 on SIGTERM")
    try:
        blocker.close()
        waiter.close()
    except psycopg2.Error:
        pass
    tally.recovered += 1  # the guard went on after the restart: nothing of the crontab at stake


def terminated_in(audit):
    if not os.path.exists(audit):
        return False
    with open(audit) as handle:
        return any(json.loads(line).get("action") == "terminate" and json.loads(line).get("outcome") == "signalled"
                   for line in handle if line.strip())


def restart_server():
    subprocess.run([f"{ROOT}/scripts/pg", "restart"], check=True, capture_output=True, timeout=DEADLINE)


def configuration_management(databases):
    print("a configuration-management run rewrites the crontab during a pause", flush=True)
    rewrites = [
        ("re-enables every paused line and adds one", "# managed by Salt, run 2\n" + CRONTAB,
         "re-enabled"),
        ("removes a paused line", CRONTAB.replace(
            "*/5 * * * * cd /srv/app && python app-cli process-queue --runforseconds 3540 > /dev/null 2>&1\n", ""),
         "removed"),
    ]
    for label, rewritten, word in rewrites:
        install_crontab(CRONTAB)
        tally.fault(f"configuration management {label}")
        run = Run(databases, failpoint="upgrade.workers-paused", hold=True)
        reach(run, "upgrade.workers-paused")
        install_crontab(rewritten)
        run.go_on()
        status = run.command.finish()
        report = run.report()
        tally.check(status == 0, f"exit status {status}")
        tally.check(any(word in warning for warning in report["warnings"]), f"not reported: {report['warnings']}")
        actual = read_crontab()
        duplicated = [line for line, count in collections.Counter(actual.splitlines()).items()
                      if count > 1 and line.strip()]
        tally.check(not duplicated, f"duplicated lines: {duplicated}")
        tally.crontab_restored(rewritten)


# ---------------------------------------------------------------- hostile input
