"""The fault-injection suite behind scripts/faults.

It tries to break pgwarden's promises with the real parts: the real binary, PostgreSQL, the
`crontab` of a dedicated user, a uWSGI, the Alembic fixture and blockers held by real sessions.
Faults: kill -9 at each step of an upgrade, SIGHUP/SIGINT/SIGTERM at each step, the server
restarted under `upgrade` and `guard`, a configuration-management run rewriting the crontab
during a pause, and hostile input. Every wait is for a readiness signal (a line pgwarden writes,
a row in pg_stat_activity); a deadline only turns a hang into a failure.

    faults.py ROOT PGWARDEN
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import psycopg2

from faultsuite.common import *  # noqa: F403 (the shared parts)
from faultsuite.disks import full_disks
from faultsuite.fleet import fleet_kills
from faultsuite.hostile import hostile_input
from faultsuite.kills import install_kills, kill_at_each_step, random_kills, signals_at_each_step, traced_pgwarden
from faultsuite.processes import outliving_sessions, precise_stops, recover_stops_migration
from faultsuite.server import configuration_management, server_restarts
from faultsuite.sets import worker_sets
from faultsuite.terminals import early_hangups, interrupted_waits, vanishing_terminals


def main():
    started = time.monotonic()
    databases = Databases()
    shared.uwsgi = UWSGI()
    try:
        only = os.environ.get("PGWARDEN_FAULTS_ONLY", "")  # e.g. "hostile": one group while working on it
        # Groups whose faults do not depend on the server's major, skipped on the other majors by scripts/test.
        skip = [name for name in os.environ.get("PGWARDEN_FAULTS_SKIP", "").split(",") if name]
        for group in (install_kills, random_kills, recover_stops_migration, precise_stops, outliving_sessions, vanishing_terminals, early_hangups, interrupted_waits, full_disks,
                      kill_at_each_step, signals_at_each_step, configuration_management, server_restarts,
                      hostile_input, worker_sets, fleet_kills):
            if any(name in group.__name__ for name in only.split(",")) and not any(
                    name in group.__name__ for name in skip):
                group(databases)
    finally:
        # After a failure half-way: nothing of the suite's may outlive it. A traced pgwarden first: its
        # held installer goes on (to the real crontab) only once pgwarden has died.
        # Only while it is still strace's child: a pid that has ended may name another process by now.
        for traced in traced_runs:
            if traced.strace.poll() is None and traced.pid == traced_pgwarden(traced.strace.pid):
                try:
                    os.kill(traced.pid, signal.SIGKILL)
                    traced.strace.wait(timeout=DEADLINE)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass  # gone meanwhile, or strace hangs: the rest of the cleanup must still run
        for command in background_commands:
            if command.process.poll() is None:
                command.kill_hard()
        for process in stray_processes:  # the stand-in cron and the decoy of precise_stops, by pid
            if process.poll() is None:
                process.kill()
                process.wait()
        for run in upgrade_runs:
            try:
                stop_migration_left_behind(run.state, run.database)
            except psycopg2.Error:
                pass  # the server is down: nothing of it to stop
        shared.uwsgi.stop()
        install_crontab(CRONTAB)
        subprocess.run(["crontab", "-u", USER, "-r"], capture_output=True)
        databases.drop_all()
        shutil.rmtree(WORK, ignore_errors=True)
    print()
    print(f"faults injected: {tally.faults}, runs recovered: {tally.recovered}, "
          f"crontab lines lost: {tally.lines_lost}, bytes changed: {tally.bytes_changed}, "
          f"processes wrongly signalled: {tally.wrongly_signalled}, hosts left paused: {tally.hosts_left_paused} "
          f"(all four must be 0)   "
          f"[{time.monotonic() - started:.0f} s]")
    for failure in tally.failures:
        print(f"FAILED {failure}")
    sys.exit(1 if tally.failures or tally.lines_lost or tally.bytes_changed or tally.wrongly_signalled
             or tally.hosts_left_paused else 0)


if __name__ == "__main__":
    main()
