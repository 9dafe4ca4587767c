"""The fault-injection suite behind scripts/faults.

It tries to break pgwarden's promises with the real parts: the real binary, PostgreSQL, the
`crontab` of a dedicated user, a uWSGI, the Alembic fixture and blockers held by real sessions.
Faults: kill -9 at each step of an upgrade, SIGHUP/SIGINT/SIGTERM at each step, the server
restarted under `upgrade` and `guard`, a configuration-management run rewriting the crontab
during a pause, and hostile input. Every wait is for a readiness signal (a line pgwarden writes,
a row in pg_stat_activity); a deadline only turns a hang into a failure.

    faults.py ROOT PGWARDEN
"""
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

ROOT, PGWARDEN = sys.argv[1], sys.argv[2]
USER = os.environ.get("PGWARDEN_FAULTS_USER", "pgwarden-test-faults")
ALEMBIC = [f"{ROOT}/.venv/bin/alembic", "-c", f"{ROOT}/Tests/Fixtures/alembic/alembic.ini"]
DEADLINE = 90  # seconds: only ever reached by a hang
WORK = tempfile.mkdtemp(prefix="pgwarden-faults-")

# A crontab with what real ones hold: environment, comments, tabs, a percent sign (cron's newline),
# trailing blanks, non-ASCII, a disabled job, and jobs to pause. It must come back byte for byte.
CRONTAB = (
    "# Lines below here are managed by Salt, do not edit\n"
    "MAILTO=ops@example.org\n"
    "SHELL=/bin/sh\n"
    "\n"
    "# SALT_CRON_IDENTIFIER:PROCESS_QUEUE\n"
    "*/5 * * * * cd /srv/app && python app-cli process-queue --runforseconds 3540 > /dev/null 2>&1\n"
    "0 *\t* * *\tcd /srv/app && python app-cli collection-store-finished   \n"
    "0 1 * * 1-5 /srv/reports/report-cli nightly --date=$(date +\\%F)\n"
    "#DISABLED#30 4 * * * python app-cli old-job\n"
    "# résumé of the nightly jobs — ünïcode\n"
    "@reboot /srv/app/bin/notify-boot\n"
)


class Tally:
    """Faults injected, runs that came back whole, crontab lines lost, and what went wrong."""

    def __init__(self):
        self.faults = 0
        self.recovered = 0
        self.lines_lost = 0
        self.failures = []
        self.current = None

    def fault(self, name):
        self.faults += 1
        self.current = name
        print(f"  fault {self.faults:3}: {name}", flush=True)

    def check(self, condition, what):
        if not condition:
            self.failures.append(f"{self.current}: {what}")
            print(f"    FAILED: {what}", flush=True)
        return condition

    def crontab_restored(self, expected):
        """The crontab is `expected` byte for byte; lines lost are counted either way."""
        actual = read_crontab()
        missing = collections.Counter(expected.splitlines()) - collections.Counter(actual.splitlines())
        self.lines_lost += sum(missing.values())
        if self.check(actual == expected, f"crontab not restored byte for byte: {actual!r}"):
            self.recovered += 1


tally = Tally()


# ---------------------------------------------------------------- the real parts

def run(arguments, **kwargs):
    return subprocess.run(arguments, capture_output=True, text=True, timeout=DEADLINE, **kwargs)


def read_crontab():
    result = subprocess.run(["crontab", "-u", USER, "-l"], capture_output=True, timeout=DEADLINE)
    return result.stdout.decode("utf-8", "surrogateescape") if result.returncode == 0 else ""


def install_crontab(text):
    subprocess.run(["crontab", "-u", USER, "-"], input=text.encode("utf-8", "surrogateescape"), check=True,
                   timeout=DEADLINE)


def eventually(what, probe, deadline=DEADLINE):
    """Polls `probe` (a cheap readiness check) until it is true."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting until {what}")


class Databases:
    """A database at Alembic revision 0001 per run, copied from a template migrated once."""

    template = "pgwarden_faults_template"

    def __init__(self):
        self.count = 0
        admin(f"DROP DATABASE IF EXISTS {self.template}")
        admin(f"CREATE DATABASE {self.template}")
        subprocess.run(ALEMBIC + ["upgrade", "0001"], env=dict(os.environ, PGDATABASE=self.template), check=True,
                       capture_output=True, timeout=DEADLINE)

    def fresh(self):
        self.count += 1
        name = f"pgwarden_faults_{self.count}"
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return name

    def drop_all(self):
        for index in range(1, self.count + 1):
            admin(f"DROP DATABASE IF EXISTS pgwarden_faults_{index} WITH (FORCE)")
        admin(f"DROP DATABASE IF EXISTS {self.template} WITH (FORCE)")


def alembic_version(database):
    return admin("SELECT version_num FROM alembic_version", dbname=database)[0][0]


class UWSGI:
    """A uWSGI with a master FIFO and two workers, stopped by its master's pid."""

    def __init__(self):
        self.directory = os.path.join(WORK, "uwsgi")
        os.makedirs(self.directory)
        self.fifo = os.path.join(self.directory, "master.fifo")
        self.pidfile = os.path.join(self.directory, "uwsgi.pid")
        with open(os.path.join(self.directory, "app.py"), "w") as handle:
            handle.write("def application(environ, start_response):\n"
                         "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                         "    return [b'ok']\n")
        import socket
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        subprocess.run(["uwsgi-core", "--plugin", "python3", "--master", "--http-socket", f"127.0.0.1:{self.port}",
                        "--processes", "2", "--wsgi-file", os.path.join(self.directory, "app.py"),
                        "--pidfile", self.pidfile, "--master-fifo", self.fifo, "--die-on-term",
                        "--daemonize", os.path.join(self.directory, "uwsgi.log")],
                       check=True, close_fds=True, timeout=DEADLINE)
        self.wait_ready()

    def answers(self):
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1).status == 200
        except OSError:
            return False

    def wait_ready(self):
        eventually("uWSGI answers", self.answers)

    @property
    def master(self):
        with open(self.pidfile) as handle:
            return int(handle.read().strip())

    def stop(self):
        master = self.master
        os.kill(master, signal.SIGTERM)  # --die-on-term
        eventually("uWSGI stops", lambda: not os.path.exists(f"/proc/{master}"))


class Command:
    """A running pgwarden whose output (standard output and error, merged) is read line by line as it comes."""

    def __init__(self, arguments, env=None):
        self.process = subprocess.Popen([PGWARDEN] + arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True, env=env or os.environ.copy())
        background_commands.append(self)
        self.lines = []
        self.arrived = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self.arrived.put(line)
        self.arrived.put(None)

    def wait_for(self, pattern, count=1):
        """Waits until `count` lines of output match `pattern`."""
        end = time.monotonic() + DEADLINE
        seen = sum(1 for line in self.lines if re.search(pattern, line))
        if seen >= count:
            return
        while time.monotonic() < end:
            try:
                line = self.arrived.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise RuntimeError(f"pgwarden exited before {pattern!r}: " + " | ".join(self.lines[-5:]))
            if re.search(pattern, line):
                seen += 1
                if seen >= count:
                    return
        raise TimeoutError(f"no line matching {pattern!r}")

    def finish(self):
        status = self.process.wait(timeout=DEADLINE)
        self.reader.join(timeout=DEADLINE)
        return status

    def kill_hard(self):
        self.process.kill()
        self.finish()


# ---------------------------------------------------------------- upgrade runs

class Run:
    """One `pgwarden upgrade` of a fresh database, with its own state directory and report."""

    def __init__(self, databases, failpoint=None, hold=False, reload=False, extra=(), migration=None):
        self.database = databases.fresh()
        self.state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        self.report_path = os.path.join(self.state, "report.json")
        self.release = os.path.join(self.state, "release") if hold else None
        upgrade_runs.append(self)
        env = dict(os.environ)
        if failpoint:
            env["PGWARDEN_FAILPOINT"] = failpoint
        if self.release:
            env["PGWARDEN_FAILPOINT_RELEASE"] = self.release
        arguments = ["upgrade", "--dsn", f"dbname={self.database}", "--pause-workers", "app-cli",
                     "--crontab-user", USER, "--state-dir", self.state, "--report", self.report_path,
                     "--no-interactive", *extra]
        if reload:
            arguments += ["--uwsgi-fifo", uwsgi.fifo]
        self.command = Command(arguments + ["--"] + (migration or ALEMBIC + ["upgrade", "head"]), env=env)

    def go_on(self):
        open(self.release, "w").close()

    def report(self):
        with open(self.report_path) as handle:
            return json.load(handle)


def migration_waiting(database):
    rows = admin("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
                 " AND application_name LIKE 'pgwarden-migration-%%'", database)
    return rows[0][0] > 0


def hold_orders(database):
    """An idle-in-transaction session holding orders: the migration's ALTER queues behind it."""
    blocker = psycopg2.connect(dbname=database, application_name="monthly-report")
    with blocker.cursor() as cur:
        cur.execute("SELECT count(*) FROM orders")
    return blocker


def queue_alter(database, column):
    """An ALTER TABLE orders from a session named faults-waiter, queued behind a holder of orders."""
    waiter = psycopg2.connect(dbname=database, application_name="faults-waiter", async_=1)
    eventually("the waiter connects", lambda: waiter.poll() == psycopg2.extensions.POLL_OK)
    waiter.cursor().execute(f"ALTER TABLE orders ADD COLUMN {column} int")
    eventually("the ALTER waits", lambda: admin(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'faults-waiter'"
        " AND wait_event_type = 'Lock'", database)[0][0] == 1)
    return waiter


def stop_migration_left_behind(state_directory, database):
    """After a kill -9 of the supervisor, its migration runs on: stop it by its pid, as an operator would."""
    pids = []
    for name in ("upgrade-run.json", "upgrade-last.json"):
        full = os.path.join(state_directory, name)
        if os.path.exists(full):
            with open(full) as handle:
                pid = json.load(handle).get("migration_pid")
            if pid:
                pids.append(pid)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if b"alembic" not in handle.read():
                    continue  # that pid is no longer the migration: never signal a stranger
            os.killpg(pid, signal.SIGKILL)  # its own process group
        except (FileNotFoundError, ProcessLookupError):
            pass
    admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
          database)


STEPS = [
    ("after the journal", "upgrade.journaled"),
    ("after the crontab journal, before the crontab is written", "workers.pause.journaled"),
    ("after the crontab pause", "upgrade.workers-paused"),
    ("during the reload", "reload.requested"),
    ("while the migration waits on a lock", None),
    ("after the migration", "upgrade.migrated"),
    ("before resume", "upgrade.before-resume"),
    ("during resume, after the crontab is restored", "workers.resume.installed"),
]


def reach(run, failpoint):
    """Waits until the run is at the step: its fail point, or the migration queued behind a blocker."""
    if failpoint:
        run.command.wait_for(rf"failpoint {re.escape(failpoint)} reached")
    else:
        eventually("the migration waits on a lock", lambda: migration_waiting(run.database))


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
        tally.check(status.returncode == 0, f"status exited {status.returncode}: {status.stderr.strip()}")
        recover = run_pgwarden(["recover", "--state-dir", run.state])
        tally.check(recover.returncode == 0, f"recover exited {recover.returncode}: {recover.stderr.strip()}")
        if failpoint is None:
            tally.check("still running" in recover.stdout, f"recover does not say the migration still runs: "
                        f"{recover.stdout.strip()}")
        tally.crontab_restored(CRONTAB)
        stop_migration_left_behind(run.state, run.database)
        if blocker:
            blocker.close()
        uwsgi.wait_ready()
        again = run_pgwarden(["status", "--state-dir", run.state])
        tally.check("recovered" in again.stdout, f"status after recover: {again.stdout.strip()}")


def run_pgwarden(arguments):
    return run([PGWARDEN] + arguments)


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
            uwsgi.wait_ready()


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


def write_policy(name, blocking_for, interval=None, waiter="pgwarden-migration*"):
    path = os.path.join(WORK, name)
    with open(path, "w") as handle:
        if interval:
            handle.write(f'interval = "{interval}"\n\n')
        handle.write("[[rule]]\n"
                     'name = "idle transactions blocking"\n'
                     f'blocking_for = "{blocking_for}"\n'
                     'state = ["idle in transaction"]\n'
                     f'waiter_application_name = "{waiter}"\n'
                     'action = "terminate"\n')
    return path


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
        ("a policy nested a thousand arrays deep", rule + b'users = ' + b'[' * 1000 + b']' * 1000 + b'\n'),
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


def main():
    global uwsgi
    started = time.monotonic()
    databases = Databases()
    uwsgi = UWSGI()
    try:
        only = os.environ.get("PGWARDEN_FAULTS_ONLY", "")  # e.g. "hostile": one group while working on it
        for group in (kill_at_each_step, signals_at_each_step, configuration_management, server_restarts,
                      hostile_input):
            if only in group.__name__:
                group(databases)
    finally:
        # After a failure half-way: nothing of the suite's may outlive it.
        for command in background_commands:
            if command.process.poll() is None:
                command.kill_hard()
        for run in upgrade_runs:
            try:
                stop_migration_left_behind(run.state, run.database)
            except psycopg2.Error:
                pass  # the server is down: nothing of it to stop
        uwsgi.stop()
        install_crontab(CRONTAB)
        subprocess.run(["crontab", "-u", USER, "-r"], capture_output=True)
        databases.drop_all()
        shutil.rmtree(WORK, ignore_errors=True)
    print()
    print(f"faults injected: {tally.faults}, runs recovered: {tally.recovered}, "
          f"crontab lines lost: {tally.lines_lost} (must be 0)   [{time.monotonic() - started:.0f} s]")
    for failure in tally.failures:
        print(f"FAILED {failure}")
    sys.exit(1 if tally.failures or tally.lines_lost else 0)


uwsgi = None
background_commands = []  # every pgwarden the suite ran in the background
upgrade_runs = []  # every upgrade run
main()
