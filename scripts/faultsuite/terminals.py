"""Faults: terminals that vanish, signals before the runtime starts, waits interrupted."""

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


def vanishing_terminals(databases):
    print("the terminal goes away: | tee and SIGHUP to the group, | head -1", flush=True)
    for streams in ("2>&1", ""):
        install_crontab(CRONTAB)
        tally.fault(f"upgrade {streams} | tee run.log, then SIGHUP to the whole process group (an SSH drop)")
        database = databases.fresh()
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        release = os.path.join(state, "release")
        tee_file = os.path.join(state, "tee.log")
        arguments = " ".join(shell_quote(a) for a in [PGWARDEN] + upgrade_arguments(database, state))
        shell = subprocess.Popen(["setsid", "bash", "-c", f"{arguments} {streams} | tee {tee_file} >/dev/null"],
                                 env=dict(os.environ, PGWARDEN_FAILPOINT="upgrade.workers-paused",
                                          PGWARDEN_FAILPOINT_RELEASE=release),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pgwarden = eventually("pgwarden runs", lambda: next(
            (c for c in children_of(shell.pid) if command_line(c)[:1] == [PGWARDEN.encode()]), None))
        eventually("the workers are paused", lambda: "#pgwarden:paused:" in read_crontab())
        os.killpg(shell.pid, signal.SIGHUP)
        shell.wait(timeout=DEADLINE)
        eventually("tee is gone", lambda: not any(b"tee" in command_line(c)[0] for c in children_of(shell.pid)
                                                    if command_line(c)))
        open(release, "w").close()
        eventually("pgwarden finishes", lambda: gone(pgwarden))
        check_whole_run(state, database)

    for streams in ("", "2>&1"):
        install_crontab(CRONTAB)
        tally.fault(f"upgrade {streams} | head -1")
        database = databases.fresh()
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        arguments = " ".join(shell_quote(a) for a in [PGWARDEN] + upgrade_arguments(database, state))
        result = run(["bash", "-c", f"{arguments} {streams} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"])
        tally.check(result.stdout.strip() == "0", f"pgwarden exited {result.stdout.strip()}")
        check_whole_run(state, database)


def shell_quote(word):
    return "'" + word.replace("'", "'\\''") + "'"


def dispositions_set(process):
    """Waits until pgwarden's first instructions have run: SIGHUP caught (SigCgt in /proc). Before that only
    the dynamic loader runs, which no program can handle a signal in. Returns how long that took."""
    started = time.monotonic()

    def caught():
        try:
            with open(f"/proc/{process.pid}/status") as handle:
                line = next(line for line in handle if line.startswith("SigCgt:"))
            return int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1))
        except (OSError, StopIteration):
            return False

    eventually("pgwarden's first instructions run", caught, deadline=10)
    loader_windows.append(time.monotonic() - started)


def early_hangups(databases):
    print("SIGHUP 0-50 ms after the start of upgrade, guard and locks --watch", flush=True)
    import random
    chance = random.Random(0x5161)
    database = databases.fresh()
    policy = write_policy("hup-guard.toml", blocking_for="1s", interval="100ms")
    for index in range(6):
        delay = chance.uniform(0, 0.05)
        install_crontab(CRONTAB)
        tally.fault(f"SIGHUP {delay * 1000:.0f} ms after upgrade starts")
        run_database = databases.fresh()
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        process = subprocess.Popen([PGWARDEN] + upgrade_arguments(run_database, state), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dispositions_set(process)
        time.sleep(delay)
        process.send_signal(signal.SIGHUP)
        status = process.wait(timeout=DEADLINE)
        tally.check(status == 0, f"exit status {status}")
        check_whole_run(state, run_database)

        delay = chance.uniform(0, 0.05)
        tally.fault(f"SIGHUP {delay * 1000:.0f} ms after guard starts")
        guard = Command(["guard", "--policy", policy, "--dsn", f"dbname={database}", "--audit-log", os.devnull],
                        env=dict(os.environ, PGWARDEN_LOG_LEVEL="info"))
        dispositions_set(guard.process)
        time.sleep(delay)
        guard.process.send_signal(signal.SIGHUP)
        guard.wait_for("connected; polling")
        tally.check(guard.process.poll() is None, f"guard ended: {guard.process.poll()}")
        guard.process.send_signal(signal.SIGTERM)
        status = guard.finish()
        if tally.check(status == 0, f"guard exited {status} after SIGTERM"):
            tally.recovered += 1
        mode = os.stat(os.devnull).st_mode & 0o777
        if not tally.check(mode == 0o666, f"the audit log {os.devnull} was given mode {mode:o}"):
            os.chmod(os.devnull, 0o666)

        delay = chance.uniform(0, 0.05)
        tally.fault(f"SIGHUP {delay * 1000:.0f} ms after locks --watch starts")
        watch = subprocess.Popen([PGWARDEN, "locks", "--watch", "--interval", "100ms", "--dsn", f"dbname={database}"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dispositions_set(watch)
        time.sleep(delay)
        watch.send_signal(signal.SIGHUP)
        try:
            status = watch.wait(timeout=5)
        except subprocess.TimeoutExpired:
            watch.kill()
            status = watch.wait()
        error = watch.stderr.read().decode("utf-8", "replace")
        if tally.check(status == 128 + signal.SIGHUP and not error, f"locks --watch: status {status}, {error[:200]!r}"):
            tally.recovered += 1
    windows = sorted(loader_windows)
    print(f"    exec to SIGHUP caught (the dynamic loader): median {windows[len(windows) // 2] * 1000:.0f} ms, "
          f"max {windows[-1] * 1000:.0f} ms", flush=True)


def interrupted_waits(databases):
    print("SIGTERM and SIGINT in long waits: a 60 s retry delay, a reload waiting for a request, a 60 s drain",
          flush=True)
    install_crontab(CRONTAB)
    tally.fault("SIGTERM in a 60 s --retry-delay")
    database = databases.fresh()
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    blocker = hold_orders(database)
    command = Command(upgrade_arguments(database, state, "--lock-timeout", "300ms", "--retries", "1",
                                        "--retry-delay", "60s"))
    command.wait_for("retrying in")
    started = time.monotonic()
    command.process.send_signal(signal.SIGTERM)
    status = command.finish()
    took = time.monotonic() - started
    blocker.close()
    tally.check(took < 1.0, f"SIGTERM acted on after {took:.2f} s")
    tally.check(status == 128 + signal.SIGTERM, f"exit status {status}")
    with open(os.path.join(state, "report.json")) as handle:
        report = json.load(handle)
    tally.check(report["outcome"] == "interrupted" and len(report["attempts"]) == 1,
                f"outcome {report['outcome']}, {len(report['attempts'])} attempts")
    print(f"    acted on in {took * 1000:.0f} ms", flush=True)
    tally.crontab_restored(CRONTAB)

    install_crontab(CRONTAB)
    tally.fault("SIGTERM while the uWSGI reload waits for a long request")
    database = databases.fresh()
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    slow = threading.Thread(target=lambda: urllib.request.urlopen(f"http://127.0.0.1:{shared.uwsgi.port}/slow", timeout=30)
                            .read(), daemon=True)
    slow.start()
    time.sleep(0.3)  # the request is in a worker (no readiness line from uWSGI for that)
    command = Command(upgrade_arguments(database, state, "--uwsgi-fifo", shared.uwsgi.fifo))
    command.wait_for(r"reload uWSGI \(before\)")
    time.sleep(0.5)
    started = time.monotonic()
    command.process.send_signal(signal.SIGTERM)
    tally.check(not any("uWSGI reloaded" in line for line in command.lines), "the reload was over before SIGTERM")
    status = command.finish()
    took = time.monotonic() - started
    tally.check(took < 1.0, f"SIGTERM acted on after {took:.2f} s")
    tally.check(status == 128 + signal.SIGTERM, f"exit status {status}: {command.lines[-3:]}")
    print(f"    acted on in {took * 1000:.0f} ms", flush=True)
    tally.crontab_restored(CRONTAB)
    slow.join(timeout=30)
    shared.uwsgi.wait_ready()

    install_crontab(CRONTAB)
    tally.fault("SIGINT in a 60 s --stop-workers drain")
    database = databases.fresh()
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    worker = subprocess.Popen(["runuser", "-u", USER, "--", "python3", "-c", "import time; time.sleep(120)",
                               "app-cli", "drain-me"], stdin=subprocess.DEVNULL)
    eventually("the worker runs", lambda: any(b"drain-me" in b" ".join(command_line(c))
                                              for c in children_of(worker.pid)))
    command = Command(upgrade_arguments(database, state, "--stop-workers", "drain", "--grace", "60s"),
                      env=dict(os.environ, PGWARDEN_LOG_LEVEL="info"))
    command.wait_for("draining workers")
    started = time.monotonic()
    command.process.send_signal(signal.SIGINT)
    status = command.finish()
    took = time.monotonic() - started
    tally.check(took < 1.0, f"SIGINT acted on after {took:.2f} s")
    tally.check(status == 128 + signal.SIGINT, f"exit status {status}")
    print(f"    acted on in {took * 1000:.0f} ms", flush=True)
    tally.crontab_restored(CRONTAB)
    worker.kill()
    worker.wait()
    for child in children_of(worker.pid):
        os.kill(child, signal.SIGKILL)
