"""What every family of faults shares: the real parts (PostgreSQL, the crontab, uWSGI, pgwarden runs),
the steps of an upgrade, and the tally."""

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
        self.hosts_left_paused = 0
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

    def crontab_restored(self, expected, actual=None, where=""):
        """The crontab (`actual`, read here when not given) is `expected` byte for byte; lines lost are counted
        either way. `where`: the host it was read on, for the failure."""
        actual = read_crontab() if actual is None else actual
        missing = collections.Counter(expected.splitlines()) - collections.Counter(actual.splitlines())
        self.lines_lost += sum(missing.values())
        a, e = actual.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
        self.bytes_changed += sum(x != y for x, y in zip(a, e)) + abs(len(a) - len(e))
        if self.check(actual == expected, f"crontab{where} not restored byte for byte: {actual!r}"):
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
            arguments += ["--uwsgi-fifo", shared.uwsgi.fifo]
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


def run_pgwarden(arguments):
    return run([PGWARDEN] + arguments)


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


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


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


loader_windows = []


class Shared:
    """What main() starts once for every family: the uWSGI."""

    uwsgi = None


shared = Shared()
background_commands = []  # every pgwarden the suite ran in the background
traced_runs = []  # every pgwarden the suite ran under strace
stray_processes = []  # other processes the suite started that must not outlive it
upgrade_runs = []  # every upgrade run
