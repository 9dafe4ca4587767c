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
        self.bytes_changed = 0
        self.wrongly_signalled = 0
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
        a, e = actual.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
        self.bytes_changed += sum(x != y for x, y in zip(a, e)) + abs(len(a) - len(e))
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
            handle.write("import time\n"
                         "def application(environ, start_response):\n"
                         "    if environ.get('PATH_INFO') == '/slow':\n"
                         "        time.sleep(5)  # a long request: a graceful reload waits for it\n"
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

def pause_phase(state):
    """The phase the pause journal of `state` records (`pausing`, `paused`, `resuming`, `resumed`), if any."""
    try:
        with open(os.path.join(state, "workers-pause.json")) as handle:
            return json.load(handle).get("phase")
    except (OSError, ValueError):
        return None


def children_of(pid):
    """The pids whose parent is `pid`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(name))
    return found


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


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


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


def paused_form(text):
    """`text` when every line of it is CRONTAB's, some with a marker: a whole paused crontab, not a cut one."""
    stripped = re.sub(r"(?m)^#pgwarden:paused:\S+ ", "", text)
    return text if stripped == CRONTAB else None


# ---------------------------------------------------------------- terminals that vanish, early signals, waits

def upgrade_arguments(database, state, *extra, report=None, migration=None):
    return ["upgrade", "--dsn", f"dbname={database}", "--pause-workers", "app-cli", "--crontab-user", USER,
            "--state-dir", state, "--report", report or os.path.join(state, "report.json"), "--no-interactive",
            *extra, "--", *(migration or ALEMBIC + ["upgrade", "head"])]


def run_log(state):
    """The run log pgwarden keeps in the state directory."""
    names = [name for name in os.listdir(state) if name.startswith("upgrade-") and name.endswith(".log")]
    if not names:
        return ""
    with open(os.path.join(state, names[0]), encoding="utf-8", errors="replace") as handle:
        return handle.read()


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[-1][0] == "Z"
    except OSError:
        return True


def check_whole_run(state, database, report_path=None):
    """The run completed although its terminal went away: report, run log, migration, workers."""
    report_path = report_path or os.path.join(state, "report.json")
    tally.check(os.path.exists(report_path), "no report")
    if os.path.exists(report_path):
        with open(report_path) as handle:
            report = json.load(handle)
        tally.check(report["outcome"] == "succeeded" and report["exit_status"] == 0,
                    f"outcome {report['outcome']}, exit status {report['exit_status']}")
    log = run_log(state)
    tally.check("workers resumed" in log and " succeeded in " in log, f"the run log misses lines: {log[-300:]!r}")
    tally.check(alembic_version(database) == "0002", "the migration did not reach head")
    tally.crontab_restored(CRONTAB)


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


loader_windows = []


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
    slow = threading.Thread(target=lambda: urllib.request.urlopen(f"http://127.0.0.1:{uwsgi.port}/slow", timeout=30)
                            .read(), daemon=True)
    slow.start()
    time.sleep(0.3)  # the request is in a worker (no readiness line from uWSGI for that)
    command = Command(upgrade_arguments(database, state, "--uwsgi-fifo", uwsgi.fifo))
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
    uwsgi.wait_ready()

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


def main():
    global uwsgi
    started = time.monotonic()
    databases = Databases()
    uwsgi = UWSGI()
    try:
        only = os.environ.get("PGWARDEN_FAULTS_ONLY", "")  # e.g. "hostile": one group while working on it
        for group in (install_kills, random_kills, recover_stops_migration, precise_stops, outliving_sessions, vanishing_terminals, early_hangups, interrupted_waits, full_disks,
                      kill_at_each_step, signals_at_each_step, configuration_management, server_restarts,
                      hostile_input):
            if any(name in group.__name__ for name in only.split(",")):
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
        uwsgi.stop()
        install_crontab(CRONTAB)
        subprocess.run(["crontab", "-u", USER, "-r"], capture_output=True)
        databases.drop_all()
        shutil.rmtree(WORK, ignore_errors=True)
    print()
    print(f"faults injected: {tally.faults}, runs recovered: {tally.recovered}, "
          f"crontab lines lost: {tally.lines_lost}, bytes changed: {tally.bytes_changed}, "
          f"processes wrongly signalled: {tally.wrongly_signalled} (all three must be 0)   "
          f"[{time.monotonic() - started:.0f} s]")
    for failure in tally.failures:
        print(f"FAILED {failure}")
    sys.exit(1 if tally.failures or tally.lines_lost or tally.bytes_changed or tally.wrongly_signalled else 0)


uwsgi = None
background_commands = []  # every pgwarden the suite ran in the background
traced_runs = []  # every pgwarden the suite ran under strace
stray_processes = []  # other processes the suite started that must not outlive it
upgrade_runs = []  # every upgrade run
main()
