"""Faults: kill -9 and signals at each step of an upgrade, the crontab install's window widened by strace, and random kill -9s on a crontab that is not UTF-8."""

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


def kill_at_each_step(databases):
    print("kill -9 of pgwarden upgrade at each step, then pgwarden recover", flush=True)
    for label, failpoint in STEPS:
        install_crontab(CRONTAB)
        tally.fault(f"kill -9 {label}")
        blocker = None
        run = Run(databases, failpoint=failpoint, reload=failpoint == "reload.requested")
        if failpoint is None:
            blocker = hold_orders(run.database)
        reach(run, failpoint)
        run.command.kill_hard()
        status = run_pgwarden(["status", "--state-dir", run.state])
        tally.check("INTERRUPTED" in status.stdout, f"status does not say interrupted: {status.stdout.strip()}")
        tally.check(status.returncode == 3, f"status exited {status.returncode}, wanted 3: {status.stderr.strip()}")
        recover = run_pgwarden(["recover", "--state-dir", run.state])
        if failpoint is None:
            # The migration still runs and waits: recover leaves the workers paused (exit 3) and says how to go on.
            tally.check("still running" in recover.stdout, f"recover does not say the migration still runs: "
                        f"{recover.stdout.strip()}")
            tally.check(recover.returncode == 3 and "left paused" in recover.stdout,
                        f"recover resumed the workers under a running migration: {recover.stdout.strip()}")
            recover = run_pgwarden(["recover", "--stop-migration", "--dsn", f"dbname={run.database}", "--state-dir",
                                    run.state])
        tally.check(recover.returncode == 0, f"recover exited {recover.returncode}: {recover.stderr.strip()}")
        tally.crontab_restored(CRONTAB)
        stop_migration_left_behind(run.state, run.database)
        if blocker:
            blocker.close()
        shared.uwsgi.wait_ready()
        again = run_pgwarden(["status", "--state-dir", run.state])
        tally.check("recovered" in again.stdout, f"status after recover: {again.stdout.strip()}")


def signals_at_each_step(databases):
    print("SIGHUP, SIGINT, SIGTERM at each step", flush=True)
    for label, failpoint in STEPS:
        if failpoint == "workers.pause.journaled":
            continue  # inside the pause step, as after the crontab pause
        for number in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
            install_crontab(CRONTAB)
            tally.fault(f"{signal.Signals(number).name} {label}")
            blocker = None
            run = Run(databases, failpoint=failpoint, hold=True, reload=failpoint == "reload.requested")
            if failpoint is None:
                blocker = hold_orders(run.database)
            reach(run, failpoint)
            run.command.process.send_signal(number)
            run.command.wait_for("SIGHUP ignored" if number == signal.SIGHUP else rf"interrupted \(signal {number}\)")
            if failpoint:
                run.go_on()
            if blocker and number == signal.SIGHUP:
                blocker.rollback()  # the wait ends; the run goes on
            status = run.command.finish()
            if blocker:
                blocker.close()
            report = run.report()
            if number == signal.SIGHUP:
                tally.check(status == 0, f"exit status {status}, wanted 0")
                tally.check(report["outcome"] == "succeeded", f"outcome {report['outcome']}")
                tally.check(alembic_version(run.database) == "0002", "the migration did not reach head")
            else:
                tally.check(status == 128 + number, f"exit status {status}, wanted {128 + number}")
                tally.check(report["outcome"] == "interrupted", f"outcome {report['outcome']}")
            tally.crontab_restored(CRONTAB)
            last = run_pgwarden(["status", "--state-dir", run.state])
            tally.check(last.stdout.startswith("last run"), f"status: {last.stdout.strip()}")
            shared.uwsgi.wait_ready()


def traced_pgwarden(strace_pid):
    """The pgwarden that strace `strace_pid` runs, once it has been executed. Not just strace's first child:
    strace forks short-lived children of its own first (its ptrace feature tests), and a kill -9 aimed at
    one of those misses pgwarden, whose held installer then keeps the crontab's lock for good (CI, 12-02)."""
    executable = os.path.realpath(PGWARDEN)
    for child in children_of(strace_pid):
        try:
            if os.readlink(f"/proc/{child}/exe") == executable:
                return child
        except OSError:
            continue
    return None


# A `crontab` first on pgwarden's PATH for the install kills. Listing (`-l`) goes straight to the real one.
# An install made while the pause journal of $PGWARDEN_FAULTS_STATE is in phase $PGWARDEN_FAULTS_PHASE says
# so in $PGWARDEN_FAULTS_READY, then waits until pgwarden (its parent) has died before it becomes the real
# crontab, with the arguments and standard input (the crontab's lock) pgwarden gave it. The kill thus
# always lands while the install runs, however briefly the real crontab would have lived; a probe that
# polled for the installer could miss it.
INSTALL_HOLD = """#!{python}
import json, os, sys, time
arguments = sys.argv[1:]
if "-l" not in arguments:
    try:
        with open(os.path.join(os.environ["PGWARDEN_FAULTS_STATE"], "workers-pause.json")) as handle:
            phase = json.load(handle).get("phase")
    except (KeyError, OSError, ValueError):
        phase = None
    if phase is not None and phase == os.environ.get("PGWARDEN_FAULTS_PHASE"):
        parent = os.getppid()
        with open(os.environ["PGWARDEN_FAULTS_READY"], "w") as ready:
            ready.write(str(os.getpid()))
        while os.getppid() == parent:
            time.sleep(0.01)
os.execv({crontab!r}, [{crontab!r}, *arguments])
"""


def install_hold_path():
    """A directory holding the `crontab` of INSTALL_HOLD, for the front of PATH."""
    directory = os.path.join(WORK, "install-hold")
    if not os.path.isdir(directory):
        os.mkdir(directory)
        crontab = shutil.which("crontab")
        with open(os.path.join(directory, "crontab"), "w") as handle:
            handle.write(INSTALL_HOLD.format(python=sys.executable, crontab=crontab))
        os.chmod(os.path.join(directory, "crontab"), 0o755)
    return directory


class Traced:
    """pgwarden under `strace -f` with every write (its own and its children's) delayed: the window in which
    the new crontab is staged is widened from microseconds to a good part of a second. The install itself
    is held by INSTALL_HOLD's `crontab` while the journal of `state` is in `phase`."""

    def __init__(self, arguments, state, phase, delay_us=150_000):
        # pgwarden's stderr is kept: when it ends before the step to kill it at, what it said is the story.
        self.stderr = tempfile.TemporaryFile(dir=WORK)
        self.state, self.phase = state, phase
        self.ready = os.path.join(WORK, f"install-ready-{os.path.basename(state)}")
        env = dict(os.environ, PATH=f"{install_hold_path()}:{os.environ['PATH']}", PGWARDEN_FAULTS_STATE=state,
                   PGWARDEN_FAULTS_PHASE=phase, PGWARDEN_FAULTS_READY=self.ready)
        self.strace = subprocess.Popen(
            ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=write,writev,pwrite64",
             "-e", f"inject=write,writev,pwrite64:delay_enter={delay_us}", PGWARDEN, *arguments],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr, env=env)
        self.pid = eventually("pgwarden runs under strace", lambda: traced_pgwarden(self.strace.pid))
        traced_runs.append(self)

    def still_running(self, what):
        """True while strace (and so pgwarden) runs; raises, with what pgwarden printed, once it has ended."""
        status = self.strace.poll()
        if status is None:
            return True
        self.stderr.seek(0)
        said = self.stderr.read().decode("utf-8", "replace").strip()
        raise RuntimeError(f"pgwarden ended (status {status}) before {what}: {said[-2000:]!r}")

    def kill_at_install(self, staging=False):
        """kill -9 pgwarden when it installs the crontab in its phase of the pause journal (`pausing` for
        the pause's install, `resuming` for the resume's): while the installer runs, or with `staging`,
        while the new text is still being written to the state directory. Returns whether the kill landed
        where it was meant to: a staging window the probe missed is caught at the install instead."""

        def at_install():
            if os.path.exists(self.ready):
                return "install"
            if staging and pause_phase(self.state) == self.phase and any(
                    name.startswith("crontab-") and ".tmp-" in name for name in os.listdir(self.state)):
                return "staging"
            return not self.still_running(f"the {self.phase} install")

        try:
            caught = eventually(f"the {self.phase} install begins", at_install)
        except TimeoutError as error:
            self.stderr.seek(0)
            said = self.stderr.read().decode("utf-8", "replace").strip()
            tree = [command_line(child) for child in children_of(self.pid)]
            raise TimeoutError(f"{error}; pgwarden's children: {tree}; it said: {said[-2000:]!r}") from None
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            self.stderr.seek(0)
            said = self.stderr.read().decode("utf-8", "replace").strip()
            raise RuntimeError(f"pgwarden (pid {self.pid}) ended by itself at the {self.phase} install: "
                               f"{said[-2000:]!r}") from None
        self.strace.wait(timeout=DEADLINE)
        return caught == ("staging" if staging else "install")


def install_kills(databases):
    print("kill -9 while the crontab is being installed (writes delayed by strace)", flush=True)
    for staging in (False, True):
        where = "while the new crontab is staged" if staging else "while crontab installs it"

        def kill(arguments, state, phase, **options):
            if not Traced(arguments, state, phase, **options).kill_at_install(staging=staging):
                print("    (the staging window was missed: killed while crontab installs it)", flush=True)

        install_crontab(CRONTAB)
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        tally.fault(f"kill -9 of workers pause {where}")
        kill(["workers", "pause", "--user", USER, "--match", "app-cli", "--state-dir", state], state, "pausing")
        partial = read_crontab()
        tally.check(partial in (CRONTAB, paused_form(partial)), f"a partial crontab was installed: {partial!r}")
        resumed = run_pgwarden(["workers", "resume", "--state-dir", state])
        tally.check(resumed.returncode == 0, f"resume exited {resumed.returncode}: {resumed.stderr.strip()}")
        tally.crontab_restored(CRONTAB)

        install_crontab(CRONTAB)
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        tally.fault(f"kill -9 of workers resume {where}")
        paused = run_pgwarden(["workers", "pause", "--user", USER, "--match", "app-cli", "--state-dir", state])
        tally.check(paused.returncode == 0, f"pause exited {paused.returncode}: {paused.stderr.strip()}")
        kill(["workers", "resume", "--state-dir", state], state, "resuming")
        again = run_pgwarden(["workers", "resume", "--state-dir", state])
        tally.check(again.returncode == 0, f"resume exited {again.returncode}: {again.stderr.strip()}")
        tally.crontab_restored(CRONTAB)

        for phase, step in (("pausing", "pause"), ("resuming", "resume")):
            install_crontab(CRONTAB)
            tally.fault(f"kill -9 of upgrade at its {step} {where}")
            database = databases.fresh()
            state = tempfile.mkdtemp(prefix="state-", dir=WORK)
            kill(["upgrade", "--dsn", f"dbname={database}", "--pause-workers", "app-cli", "--crontab-user", USER,
                  "--state-dir", state, "--no-interactive", "--", *ALEMBIC, "upgrade", "head"], state, phase,
                 delay_us=100_000)
            recovered = run_pgwarden(["recover", "--stop-migration", "--state-dir", state])
            tally.check(recovered.returncode == 0, f"recover exited {recovered.returncode}: {recovered.stderr.strip()}")
            tally.crontab_restored(CRONTAB)
            stop_migration_left_behind(state, database)


# Latin-1 and a lone \xff, CRLF line ends (crontab -l shows a CR as "\r": compared through the spool, read only).
BYTES_CRONTAB = (b"# caf\xe9 cr\xe8me \xff\r\n"
                 b"MAILTO=ops@example.org\r\n"
                 b"*/5 * * * * cd /srv/app && python app-cli process-queue --tag \xe9t\xe9 > /dev/null 2>&1\r\n"
                 b"0 * * * * /srv/reports/report-cli nightly \xff\n"
                 b"30 2 * * * python app-cli collection-store-finished\n")


def install_bytes(data):
    path = os.path.join(WORK, "crontab-bytes")
    with open(path, "wb") as handle:
        handle.write(data)
    subprocess.run(["crontab", "-u", USER, path], check=True, capture_output=True, timeout=DEADLINE)


def spool_bytes():
    """The crontab's exact bytes: the spool file without the three header lines crontab writes."""
    try:
        with open(f"/var/spool/cron/crontabs/{USER}", "rb") as handle:
            lines = handle.read().split(b"\n")
    except FileNotFoundError:
        return b""
    if lines and lines[0].startswith(b"# DO NOT EDIT THIS FILE"):
        lines = lines[3:]
    return b"\n".join(lines)


def bytes_restored(expected):
    actual = spool_bytes()
    missing = collections.Counter(expected.split(b"\n")) - collections.Counter(actual.split(b"\n"))
    tally.lines_lost += sum(missing.values())
    changed = sum(a != b for a, b in zip(actual, expected)) + abs(len(actual) - len(expected))
    tally.bytes_changed += changed
    if tally.check(actual == expected, f"crontab not restored byte for byte ({changed} bytes differ): {actual!r}"):
        tally.recovered += 1


def kill_after(arguments, delay):
    process = subprocess.Popen([PGWARDEN] + arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.kill()
    return process.wait()


def timed(arguments):
    started = time.monotonic()
    result = run_pgwarden(arguments)
    return time.monotonic() - started, result


def random_kills(databases):
    import random
    count = int(os.environ.get("PGWARDEN_FAULTS_RANDOM_KILLS", "200"))
    print(f"{count} kill -9s at random moments of pause, resume, upgrade and recover (a crontab that is not UTF-8)",
          flush=True)
    chance = random.Random(int(os.environ.get("PGWARDEN_FAULTS_SEED", "12")))
    database = databases.fresh()
    pause = ["workers", "pause", "--user", USER, "--match", "app-cli"]
    # How long each takes unharmed: the kills fall anywhere in that time, and a little after.
    install_bytes(BYTES_CRONTAB)
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    pause_time, _ = timed(pause + ["--state-dir", state])
    resume_time, _ = timed(["workers", "resume", "--state-dir", state])
    upgrade = lambda state: ["upgrade", "--dsn", f"dbname={database}", "--pause-workers", "app-cli",
                             "--crontab-user", USER, "--state-dir", state, "--no-interactive", "--", "true"]
    upgrade_time, result = timed(upgrade(state))
    tally.check(result.returncode == 0, f"upgrade exited {result.returncode}: {result.stderr.strip()[-300:]}")
    print(f"    unharmed: pause {pause_time * 1000:.0f} ms, resume {resume_time * 1000:.0f} ms, "
          f"upgrade {upgrade_time * 1000:.0f} ms", flush=True)
    counts = collections.Counter()
    for index in range(count):
        install_bytes(BYTES_CRONTAB)
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        what = chance.choices(["pause", "resume", "upgrade", "recover"], weights=[5, 4, 1, 1])[0]
        counts[what] += 1
        if what == "pause":
            delay = chance.uniform(0, pause_time * 1.2)
            tally.fault(f"random kill -9 of workers pause after {delay * 1000:.0f} ms")
            kill_after(pause + ["--state-dir", state], delay)
            after = run_pgwarden(["workers", "resume", "--state-dir", state])
        elif what == "resume":
            delay = chance.uniform(0, resume_time * 1.2)
            tally.fault(f"random kill -9 of workers resume after {delay * 1000:.0f} ms")
            run_pgwarden(pause + ["--state-dir", state])
            kill_after(["workers", "resume", "--state-dir", state], delay)
            after = run_pgwarden(["workers", "resume", "--state-dir", state])
        elif what == "upgrade":
            delay = chance.uniform(0, upgrade_time * 1.2)
            tally.fault(f"random kill -9 of upgrade after {delay * 1000:.0f} ms")
            kill_after(upgrade(state), delay)
            # A migration killed mid-way runs on: recover leaves the workers paused under it unless asked to stop it.
            after = run_pgwarden(["recover", "--stop-migration", "--state-dir", state])
        else:
            delay = chance.uniform(0, upgrade_time * 0.8)
            second = chance.uniform(0, resume_time * 1.5)
            tally.fault(f"random kill -9 of upgrade after {delay * 1000:.0f} ms, then of recover after "
                        f"{second * 1000:.0f} ms")
            kill_after(upgrade(state), delay)
            kill_after(["recover", "--stop-migration", "--state-dir", state], second)
            after = run_pgwarden(["recover", "--stop-migration", "--state-dir", state])
        tally.check(after.returncode == 0, f"the next command exited {after.returncode}: {after.stderr.strip()}")
        bytes_restored(BYTES_CRONTAB)
    print(f"    {dict(counts)}", flush=True)
