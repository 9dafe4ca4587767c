"""Faults: kill -9 of an upgrade with several worker sets (a crontab, a real supervisord, a command set) at every
step of their pause and of their resume, then pgwarden recover: every set back as it was, none left paused."""

import json
import re
import os
import shutil
import signal
import subprocess
import tempfile

from faultsuite.common import *  # noqa: F403 (the shared parts)

# Every step of a pause of three sets (crontab, supervisor, command) and of their resume in reverse order.
SET_STEPS = [
    ("after the run journal", "upgrade.journaled"),
    ("set 1 (crontab): journaled, not yet written", "workers.pause.journaled"),
    ("set 1 (crontab) paused", "upgrade.set-paused.1"),
    ("set 2 (supervisor): journaled, programs not yet stopped", "sets.pause.journaled"),
    ("set 2 (supervisor): programs stopped, journal not yet updated", "sets.pause.changed"),
    ("set 2 (supervisor) paused", "upgrade.set-paused.2"),
    ("set 3 (command) paused", "upgrade.set-paused.3"),
    ("every set paused", "upgrade.workers-paused"),
    ("before the resume", "upgrade.before-resume"),
    ("set 3 (command): resume journaled, not yet run", "sets.resume.journaled"),
    ("set 3 (command): resumed, journal not yet updated", "sets.resume.changed"),
    ("set 3 (command) resumed", "upgrade.set-resumed.3"),
    ("set 2 (supervisor) resumed", "upgrade.set-resumed.2"),
    ("set 1 (crontab): crontab restored, journal not yet updated", "workers.resume.installed"),
    ("set 1 (crontab) resumed", "upgrade.set-resumed.1"),
]


class Supervisord:
    """A private supervisord: group app-worker (worker-a, worker-b) and report, running as USER."""

    def __init__(self):
        # Not under WORK (0700): the programs run as USER and must read worker.py.
        self.directory = tempfile.mkdtemp(prefix="pgwarden-faults-supervisord-")
        os.chmod(self.directory, 0o755)
        worker = os.path.join(self.directory, "worker.py")
        with open(worker, "w") as handle:
            handle.write("import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
                         "while True: time.sleep(0.2)\n")
        os.chmod(worker, 0o644)
        self.config = os.path.join(self.directory, "supervisord.conf")
        programs = "".join(
            f"[program:{name}]\ncommand=/usr/bin/python3 {worker} {name}\nuser={USER}\nstartsecs=1\nstopwaitsecs=10\n"
            f"stdout_logfile={self.directory}/{name}.log\nredirect_stderr=true\n\n"
            for name in ("worker-a", "worker-b", "report"))
        with open(self.config, "w") as handle:
            handle.write(
                f"[unix_http_server]\nfile={self.directory}/s.sock\nchmod=0700\n\n"
                f"[supervisord]\nlogfile={self.directory}/supervisord.log\npidfile={self.directory}/supervisord.pid\n"
                f"childlogdir={self.directory}\n\n"
                "[rpcinterface:supervisor]\n"
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
                f"[supervisorctl]\nserverurl=unix://{self.directory}/s.sock\n\n{programs}"
                "[group:app-worker]\nprograms=worker-a,worker-b\n")
        subprocess.run(["supervisord", "-c", self.config], check=True, capture_output=True, timeout=DEADLINE)
        try:
            eventually("supervisord runs its programs",
                       lambda: set(self.states().values()) == {"RUNNING"} and len(self.states()) == 3)
        except TimeoutError:
            self.stop()
            raise

    def states(self):
        result = run(["supervisorctl", "-c", self.config, "status"])
        return {words[0]: words[1] for words in (line.split() for line in result.stdout.splitlines()) if len(words) > 1}

    def control(self, *arguments):
        return run(["supervisorctl", "-c", self.config, *arguments])

    def stop(self):
        try:
            with open(os.path.join(self.directory, "supervisord.pid")) as handle:
                pid = int(handle.read().strip())
            os.kill(pid, signal.SIGTERM)
            eventually("supervisord stops", lambda: gone(pid))
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


def deployment_file(state, database, supervisord, marker):
    """Three sets: the faults user's crontab, supervisord's app-worker group, a command set (a marker file)."""
    path = os.path.join(state, "deploy.toml")
    q = json.dumps
    with open(path, "w") as handle:
        handle.write(
            f"dsn = {q('dbname=' + database)}\nstate_dir = {q(state)}\nreport = {q(os.path.join(state, 'report.json'))}\n"
            f"interactive = false\ncommand = [\"/bin/true\"]\n\n"
            f"[[workers]]\nkind = \"crontab\"\nuser = {q(USER)}\nmatch = [\"app-cli\"]\n\n"
            f"[[workers]]\nkind = \"supervisor\"\nprograms = [\"app-worker:*\"]\nconfig = {q(supervisord.config)}\n\n"
            f"[[workers]]\nkind = \"command\"\npause = [\"/usr/bin/touch\", {q(marker)}]\n"
            f"resume = [\"/bin/rm\", \"-f\", {q(marker)}]\ncheck = [\"/usr/bin/test\", \"-e\", {q(marker)}]\n")
    return path


def worker_sets(databases):
    print("kill -9 of an upgrade with three worker sets at every step of their pause and resume, then recover",
          flush=True)
    supervisord = Supervisord()
    left_paused = 0
    try:
        supervisord.control("stop", "app-worker:worker-b")  # stopped before the run: must stay stopped
        expected = {"app-worker:worker-a": "RUNNING", "app-worker:worker-b": "STOPPED", "report": "RUNNING"}
        for label, failpoint in SET_STEPS:
            install_crontab(CRONTAB)
            tally.fault(f"kill -9 {label}")
            state = tempfile.mkdtemp(prefix="state-", dir=WORK)
            marker = os.path.join(state, "paused-marker")
            database = databases.fresh()
            config = deployment_file(state, database, supervisord, marker)
            command = Command(["upgrade", "--config", config], env=dict(os.environ, PGWARDEN_FAILPOINT=failpoint))
            command.wait_for(rf"failpoint {re.escape(failpoint)} reached")
            command.kill_hard()
            recover = run_pgwarden(["recover", "--state-dir", state])
            tally.check(recover.returncode == 0, f"recover exited {recover.returncode}: {recover.stdout.strip()} "
                                                 f"{recover.stderr.strip()}")
            tally.crontab_restored(CRONTAB)
            states = supervisord.states()
            wrong = {name: state for name, state in states.items() if expected.get(name) != state}
            if not tally.check(not wrong, f"supervisord's programs not as before: {wrong}"):
                left_paused += 1
            if not tally.check(not os.path.exists(marker), "the command set is left paused"):
                left_paused += 1
            again = run_pgwarden(["recover", "--state-dir", state])
            tally.check("no workers were paused" in again.stdout, f"a second recover found more: {again.stdout!r}")
            # Back to the starting point for the next step, whatever happened.
            supervisord.control("start", "app-worker:worker-a", "report")
            supervisord.control("stop", "app-worker:worker-b")
            if os.path.exists(marker):
                os.remove(marker)
    finally:
        supervisord.stop()
    print(f"  worker sets left paused: {left_paused} (must be 0)", flush=True)
