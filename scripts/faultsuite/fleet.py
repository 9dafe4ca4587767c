"""Faults across hosts: kill -9 of the coordinator at each remote step of an upgrade across three hosts (sshd
instances, faultsuite.sshhosts), and of a host's own pgwarden mid-pause; then `pgwarden recover` on the coordinator,
run again until it says all is back (a bound): every host's crontab byte for byte, no host left paused.

The kill points are fail points: the coordinator's own (PGWARDEN_FAILPOINT: upgrade.remote-pause-journaled-N, …), or
one armed on a host, for the pgwarden that runs there: the hosts' `remote_pgwarden` is a wrapper that passes the
fail point named in the host's own /run/pgwarden-faults/failpoint on as PGWARDEN_FAILPOINT, its standard error to
/run/pgwarden-faults/stderr.PID, where the suite sees the point reached (and the pid to kill)."""

import json
import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import urllib.request

from faultsuite.common import *  # noqa: F403 (the shared parts)
from faultsuite.sshhosts import SSHHosts

HOSTS = 3
RECOVER_ATTEMPTS = 3  # `recover` until it says all is back: a host unreachable at first is not a fault here

WRAPPER = """#!/bin/sh
# The pgwarden "installed on the host": the one under test, with a fail point armed on this host passed on.
armed=/run/pgwarden-faults/failpoint
if [ -s "$armed" ]; then
    PGWARDEN_FAILPOINT=$(cat "$armed")
    export PGWARDEN_FAILPOINT
    exec 2>"/run/pgwarden-faults/stderr.$$"
fi
exec {pgwarden} "$@"
"""


def coordinator_steps():
    """(label, the coordinator's fail point, or the host index and fail point armed there, reload?)."""
    steps = []
    for n in range(1, HOSTS + 1):
        steps.append((f"before h{n}'s pause", f"upgrade.remote-pause-journaled-{n}", None, False))
        steps.append((f"after h{n}'s pause", f"upgrade.remote-paused-{n}", None, False))
    steps.append(("during the migration", None, None, False))
    steps.append(("after the migration", "upgrade.migrated", None, False))
    for n in range(HOSTS, 0, -1):
        steps.append((f"before h{n}'s resume", f"upgrade.remote-resume-journaled-{n}", None, False))
        steps.append((f"after h{n}'s resume", f"upgrade.set-resumed.{n}", None, False))
    for n in (1, 2):
        steps.append((f"during the rolling reload, h{n}'s uWSGI reload requested", None, (n - 1, "reload.requested"),
                      True))
    return steps


class Fleet:
    """Three hosts, each with the faults user's CRONTAB; the wrapper; a deployment file per shape."""

    def __init__(self):
        # PGWARDEN_FAULTS_SSH_NET: the hosts' first three numbers (127.0.2 unless given: runs sharing a machine differ).
        self.hosts = SSHHosts(HOSTS, prefix=os.environ.get("PGWARDEN_FAULTS_SSH_NET") or "127.0.2", parent=WORK)
        self.wrapper = os.path.join(self.hosts.directory, "remote-pgwarden")
        with open(self.wrapper, "w") as handle:
            handle.write(WRAPPER.format(pgwarden=shlex.quote(PGWARDEN)))
        os.chmod(self.wrapper, 0o755)

    def reset(self):
        for index, host in enumerate(self.hosts.hosts):
            self.hosts.install_crontab(index, CRONTAB, USER)
            faults = os.path.join(host.run_directory, "pgwarden-faults")
            shutil.rmtree(faults, ignore_errors=True)
            os.makedirs(faults)

    def arm(self, index, failpoint):
        with open(os.path.join(self.hosts.hosts[index].run_directory, "pgwarden-faults", "failpoint"), "w") as handle:
            handle.write(failpoint)

    def disarm(self, index):
        path = os.path.join(self.hosts.hosts[index].run_directory, "pgwarden-faults", "failpoint")
        if os.path.exists(path):
            os.remove(path)

    def remote_at(self, index, failpoint):
        """The pid of host `index`'s pgwarden once it has reached `failpoint`, if it has."""
        directory = os.path.join(self.hosts.hosts[index].run_directory, "pgwarden-faults")
        for name in os.listdir(directory):
            if name.startswith("stderr."):
                with open(os.path.join(directory, name)) as handle:
                    if f"failpoint {failpoint} reached" in handle.read():
                        return int(name.split(".", 1)[1])
        return None

    def config(self, state, database, migration, reload=False):
        q = json.dumps
        text = (f"dsn = {q('dbname=' + database)}\nreport = {q(os.path.join(state, 'report.json'))}\n"
                f"interactive = false\ncommand = {q(migration)}\n"
                f"ssh_config = {q(self.hosts.ssh_config)}\nremote_pgwarden = {q(self.wrapper)}\n"
                "connect_timeout = \"5s\"\nremote_resume_retry = \"2s\"\n")
        if reload:
            text += "reload = \"before\"\n"
        for host in self.hosts.hosts:
            text += f"\n[[workers]]\nkind = \"crontab\"\nuser = {q(USER)}\nmatch = [\"app-cli\"]\nhost = {q(host.name)}\n"
        if reload:
            for host in self.hosts.hosts[:2]:
                text += f"\n[[app_servers]]\nkind = \"uwsgi\"\nfifo = {q(shared.uwsgi.fifo)}\nhost = {q(host.name)}\n"
        path = os.path.join(state, "deploy.toml")
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def check_hosts(self):
        """Every host's crontab byte for byte (lines lost and bytes changed counted); hosts left paused counted."""
        for index, host in enumerate(self.hosts.hosts):
            actual = self.hosts.crontab(index, USER)
            tally.crontab_restored(CRONTAB, actual=actual, where=f" on {host.name}")
            if not tally.check("#pgwarden:paused:" not in actual, f"{host.name} is left paused"):
                tally.hosts_left_paused += 1

    def remove(self):
        """Stops every host; a host's pgwarden still held at a fail point (after a failure half-way) by its pid."""
        executable = os.path.realpath(PGWARDEN)
        for host in self.hosts.hosts:
            directory = os.path.join(host.run_directory, "pgwarden-faults")
            for name in os.listdir(directory) if os.path.isdir(directory) else []:
                if name.startswith("stderr."):
                    pid = int(name.split(".", 1)[1])
                    try:
                        if os.readlink(f"/proc/{pid}/exe") == executable:
                            os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass  # gone
        self.hosts.remove()


def recover_all(state):
    """`recover` on the coordinator, run again until it says all is back (exit 0), at most RECOVER_ATTEMPTS times;
    then a second one must find nothing left."""
    for attempt in range(1, RECOVER_ATTEMPTS + 1):
        result = run_pgwarden(["recover", "--stop-migration", "--state-dir", state])
        if result.returncode == 0:
            break
    tally.check(result.returncode == 0, f"recover exited {result.returncode} after {attempt} attempts: "
                                        f"{result.stdout.strip()[-400:]} {result.stderr.strip()[-400:]}")
    again = run_pgwarden(["recover", "--state-dir", state])
    tally.check(again.returncode == 0 and "no workers were paused" in again.stdout,
                f"a second recover found more: {again.returncode} {again.stdout!r} {again.stderr!r}")


def kill_migration_left(marker):
    """The migration of a killed coordinator that recover did not stop: stopped by its pid, never a stranger's."""
    pidfile = marker + ".pid"
    if os.path.exists(pidfile):
        with open(pidfile) as handle:
            pid = int(handle.read().strip() or 0)
        if pid and marker.encode() in b" ".join(command_line(pid)):
            os.killpg(pid, signal.SIGKILL)  # the shell leads its process group (pgwarden starts it so): its sleep too


def slow_request():
    """A request uWSGI takes 5 s over, in flight: a graceful reload waits for it."""
    def get():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{shared.uwsgi.port}/slow", timeout=30).read()
        except OSError:
            pass
    thread = threading.Thread(target=get, daemon=True)
    thread.start()
    return thread


def coordinator_kills(fleet, database):
    for label, failpoint, remote, reload in coordinator_steps():
        fleet.reset()
        tally.fault(f"kill -9 of the coordinator {label}")
        state = tempfile.mkdtemp(prefix="state-", dir=WORK)
        marker = os.path.join(state, "migration-running")
        # The migration says it runs (its pid, for the clean-up), then waits to be stopped.
        migration = ["/bin/sh", "-c", 'echo $$ > "$0.pid"; touch "$0"; sleep 300', marker] if failpoint is None \
            and remote is None else ["/bin/true"]
        env = dict(os.environ)
        if failpoint:
            env["PGWARDEN_FAILPOINT"] = failpoint
        if remote:
            fleet.arm(*remote)
        command = Command(["upgrade", "--config", fleet.config(state, database, migration, reload=reload),
                           "--state-dir", state], env=env)
        try:
            if failpoint:
                command.wait_for(rf"failpoint {re.escape(failpoint)} reached")
            elif remote:
                eventually(f"h{remote[0] + 1}'s pgwarden reaches {remote[1]}", lambda: fleet.remote_at(*remote)
                           or command.process.poll() is not None)
            else:
                eventually("the migration runs", lambda: os.path.exists(marker) or command.process.poll() is not None)
            tally.check(command.process.poll() is None, "the coordinator ended before the step: "
                        + " | ".join(command.lines[-5:]))
        finally:
            command.kill_hard()
        if remote:
            fleet.disarm(remote[0])
            pid = fleet.remote_at(*remote)
            if pid and command_line(pid):
                os.kill(pid, signal.SIGKILL)  # it waits at its fail point for good otherwise
        recover_all(state)
        kill_migration_left(marker)
        fleet.check_hosts()
        if reload:
            shared.uwsgi.wait_ready()


def remote_kill(fleet, database):
    """kill -9 of h2's own pgwarden mid-pause (its journal written, its crontab not yet): the coordinator's pause
    fails, every host comes back, the migration never runs; then recover."""
    fleet.reset()
    tally.fault("kill -9 of h2's pgwarden mid-pause (journaled there, crontab not yet written), then recover")
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    ran = os.path.join(state, "migration-ran")
    fleet.arm(1, "workers.pause.journaled")
    command = Command(["upgrade", "--config", fleet.config(state, database, ["/usr/bin/touch", ran]),
                       "--state-dir", state])
    pid = eventually("h2's pgwarden reaches its pause journal", lambda: fleet.remote_at(1, "workers.pause.journaled")
                     or command.process.poll() is not None)
    fleet.disarm(1)
    tally.check(pid is not True and command.process.poll() is None,
                "the coordinator ended first: " + " | ".join(command.lines[-5:]))
    if pid is not True:
        os.kill(pid, signal.SIGKILL)
    status = command.finish()
    tally.check(status != 0, "the upgrade succeeded with h2's pause killed")
    tally.check(not os.path.exists(ran), "the migration ran with h2's pause killed")
    # Said on a `warning: cannot pause the workers: … h2 …` line (exit status 70), as for a set here.
    tally.check(any("cannot be paused" in line and "h2" in line for line in command.lines),
                "no line says h2 cannot be paused: " + " | ".join(command.lines[-8:]))
    recover_all(state)
    fleet.check_hosts()


HOSTILE = """#!/bin/sh
# A host whose pgwarden says hostile things around each step (its version answered straight, for preflight).
[ "$1" = --version ] && exec {pgwarden} --version
printf 'ESC[2J\\033[2J CSI\\233 OSC\\033]0;owned\\007 bell\\007 CR\\rcovered DEL\\177 NUL-less\\n'
printf 'error: fake: the database was dropped\\n'
printf 'pgwarden-answer {{"pause_id": "1-fake", "state": "resumed", "said": ["\\033[31mred"]}}\\n'
i=0; while [ $i -lt 20000 ]; do echo "line $i of a huge output \\033[1m"; i=$((i + 1)); done
exec {pgwarden} "$@"
"""


def hostile_remote(fleet, database):
    """A host's pgwarden that prints control characters, a huge output and a fake `error:` line (and a fake answer)
    before doing its step: the coordinator's output stays sanitised (no control byte but newline) and bounded,
    no line of it starts with the host's `error:`, and the run goes through, every host back."""
    fleet.reset()
    tally.fault("a hostile remote pgwarden: control characters, 20,000 lines, a fake error: line and answer")
    state = tempfile.mkdtemp(prefix="state-", dir=WORK)
    hostile = os.path.join(fleet.hosts.directory, "hostile-pgwarden")
    with open(hostile, "w") as handle:
        handle.write(HOSTILE.format(pgwarden=shlex.quote(PGWARDEN)))
    os.chmod(hostile, 0o755)
    config = fleet.config(state, database, ["/bin/true"])
    with open(config) as handle:
        text = handle.read().replace(json.dumps(fleet.wrapper), json.dumps(hostile))
    with open(config, "w") as handle:
        handle.write(text)
    result = subprocess.run([PGWARDEN, "upgrade", "--config", config, "--state-dir", state], capture_output=True,
                            timeout=DEADLINE * 2)
    said = result.stdout + result.stderr
    tally.check(result.returncode == 0, f"the upgrade exited {result.returncode}: {said[-600:]!r}")
    text = said.decode("utf-8", "surrogateescape")  # a byte that is not UTF-8 (a raw 8-bit CSI, say): raw too
    raw = sorted({repr(c) for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F
                  or 0xDC80 <= ord(c) <= 0xDCFF})
    tally.check(not raw, f"raw control bytes reached the output: {raw!r}")
    tally.check(len(said) < 1_000_000, f"the output is not bounded: {len(said)} bytes")
    print(f"    the coordinator said {len(said)} bytes, {len(said.splitlines())} lines", flush=True)
    tally.check(not any(line.startswith(b"error: fake") for line in said.splitlines()),
                "the host's fake error: line reached the output as the coordinator's own")
    fleet.check_hosts()


def fleet_kills(databases):
    print(f"kill -9 of the coordinator at each remote step of an upgrade across {HOSTS} hosts (sshd on {os.environ.get('PGWARDEN_FAULTS_SSH_NET') or '127.0.2'}.x), "
          "and of a host's pgwarden mid-pause; then recover", flush=True)
    lost, changed = tally.lines_lost, tally.bytes_changed
    database = databases.fresh()
    fleet = Fleet()
    try:
        # PGWARDEN_FAULTS_FLEET=coordinator,remote,hostile: only those (while working on one).
        for part in (coordinator_kills, remote_kill, hostile_remote):
            if any(name in part.__name__ for name in os.environ.get("PGWARDEN_FAULTS_FLEET", "").split(",")):
                part(fleet, database)
    finally:
        fleet.remove()
    print(f"  crontab lines lost across hosts: {tally.lines_lost - lost}, bytes changed: {tally.bytes_changed - changed}"
          f", hosts left paused: {tally.hosts_left_paused} (all three must be 0)", flush=True)
