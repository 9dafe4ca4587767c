"""Faults: a state directory on a full disk."""

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


class FullDisk:
    """A 256 kB tmpfs, filled up on demand."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="full-", dir=WORK)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", self.path], check=True)

    def fill(self):
        descriptor = os.open(os.path.join(self.path, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * size)
            except OSError:
                pass
        os.close(descriptor)

    def close(self):
        subprocess.run(["umount", "--lazy", self.path], check=True)


def full_disks(databases):
    print("a full disk under the audit log, the report and the journal", flush=True)
    disk = FullDisk()
    try:
        tally.fault("the audit log's disk is full while the guard terminates a blocker")
        database = databases.fresh()
        audit = os.path.join(disk.path, "audit.jsonl")
        open(audit, "w").close()
        disk.fill()
        policy = write_policy("full-guard.toml", blocking_for="0s", interval="100ms", waiter="faults-waiter")
        guard = Command(["guard", "--policy", policy, "--dsn", f"dbname={database}", "--audit-log", audit],
                        env=dict(os.environ, PGWARDEN_LOG_LEVEL="info"))
        guard.wait_for("connected; polling")
        blocker = hold_orders(database)
        blocker_pid = blocker.get_backend_pid()
        waiter = psycopg2.connect(dbname=database, application_name="faults-waiter", async_=1)
        eventually("the waiter connects", lambda: waiter.poll() == psycopg2.extensions.POLL_OK)
        waiter.cursor().execute("ALTER TABLE orders ADD COLUMN full_disk int")  # queues; the guard frees it
        guard.wait_for("error: an audit entry was not written: cannot write .*No space left on device")
        eventually("the blocker is terminated", lambda: admin(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", blocker_pid)[0][0] == 0)
        tally.check(guard.process.poll() is None, "the guard stopped guarding")
        guard.process.send_signal(signal.SIGTERM)
        status = guard.finish()
        tally.check(status != 0, "the guard exited 0 although audit entries were lost")
        tally.check(any(line.startswith("error: ") and "audit entries were not written" in line
                        for line in guard.lines), f"no error line at exit: {guard.lines[-3:]}")
        if status != 0:
            tally.recovered += 1
        for connection in (blocker, waiter):
            try:
                connection.close()
            except psycopg2.Error:
                pass
        os.remove(os.path.join(disk.path, "filler"))

        install_crontab(CRONTAB)
        tally.fault("the report's disk is full")
        database = databases.fresh()
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        disk.fill()
        result = run([PGWARDEN] + upgrade_arguments(database, state, report=os.path.join(disk.path, "report.json")))
        tally.check(result.returncode == 70, f"exit status {result.returncode}")
        tally.check("error: the report was not written: cannot write" in result.stderr,
                    f"no error line: {result.stderr.strip()[:300]}")
        tally.crontab_restored(CRONTAB)
        os.remove(os.path.join(disk.path, "filler"))

        install_crontab(CRONTAB)
        tally.fault("the state directory's disk fills up while the workers are paused")
        database = databases.fresh()
        state = os.path.join(disk.path, "state")
        release = os.path.join(WORK, "release-full")
        report = os.path.join(WORK, "report-full.json")
        command = Command(upgrade_arguments(database, state, report=report),
                          env=dict(os.environ, PGWARDEN_FAILPOINT="upgrade.workers-paused",
                                   PGWARDEN_FAILPOINT_RELEASE=release))
        command.wait_for("failpoint upgrade.workers-paused reached")
        disk.fill()
        open(release, "w").close()
        status = command.finish()
        tally.check(status == 70, f"exit status {status}")
        tally.check(any(line.startswith("error: ") and "No space left" in line for line in command.lines),
                    f"no error line: {command.lines[-4:]}")
        tally.crontab_restored(CRONTAB)
        shutil.rmtree(state, ignore_errors=True)
        os.remove(os.path.join(disk.path, "filler"))
    finally:
        disk.close()


# ---------------------------------------------------------------- a session of the run that outlives its command
