"""Several "hosts" made of real OpenSSH servers on this machine, as Tests/TestSupport/SSHHosts.swift makes them.

Each host is an `sshd` on a loopback address of its own in a mount namespace of its own (`unshare --mount`), where
private bind mounts give it its own crontab spool (`/var/spool/cron/crontabs`), its own state directory
(`/var/lib/pgwarden`) and its own `/run`; everything else (the pgwarden under test, the test users) is at the same
path inside. The hosts make every key: a host key per host, listed in a `known_hosts` that the `ssh_config` (for
`ssh -F` and pgwarden's `ssh_config = "…"`) names with `StrictHostKeyChecking yes`, and a client key for root.
Nothing is sent to any address but these. Each sshd runs in the foreground (`-D`, its log in `sshd.log`), in a
session of its own; it is ready when it says `Server listening`, and it is stopped by its pid.

The addresses are `PREFIX.2`, `PREFIX.3`, …: give each user of this module on one machine a prefix of its own
(the Swift tests use 127.0.0.x).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DEADLINE = 90  # seconds: only ever reached by a hang

ENTER = """#!/bin/sh
h=$(dirname "$0")
mkdir -p /var/lib/pgwarden
mount --bind "$h/crontabs" /var/spool/cron/crontabs && mount --bind "$h/state" /var/lib/pgwarden \\
    && mount --bind "$h/run" /run && mkdir -p /run/sshd || exit 111
exec "$@"
"""


def _eventually(what, probe, deadline=DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting until {what}")


def _check(arguments):
    subprocess.run(arguments, check=True, capture_output=True, timeout=DEADLINE)


class Host:
    """One host: its alias (`h1`, …), address, and directory (`crontabs/`, `state/`, `run/`, keys, `sshd.log`)."""

    def __init__(self, name, address, directory):
        self.name, self.address, self.directory = name, address, directory
        self.pid = None

    @property
    def state(self):
        """Its state directory (`/var/lib/pgwarden` inside), seen from outside."""
        return os.path.join(self.directory, "state")

    @property
    def run_directory(self):
        """Its `/run`, seen from outside."""
        return os.path.join(self.directory, "run")


class SSHHosts:
    """`count` hosts on `prefix.2`, `prefix.3`, …, each sshd started and listening once the constructor returns."""

    def __init__(self, count, prefix="127.0.2", parent=None):
        if not 1 <= count <= 200:
            raise ValueError("between 1 and 200 hosts")
        self.directory = tempfile.mkdtemp(prefix="pgwarden-hosts-", dir=parent)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.hosts = [Host(f"h{n}", f"{prefix}.{n + 1}", os.path.join(self.directory, f"h{n}"))
                      for n in range(1, count + 1)]
        self.ssh_config = os.path.join(self.directory, "ssh_config")
        try:
            self._make_files()
            for index in range(count):
                self.start(index)
        except BaseException:
            self.remove()
            raise

    def start(self, index):
        """Starts host `index`'s sshd (again), in a session of its own, and waits until it listens."""
        host = self.hosts[index]
        log = os.path.join(host.directory, "sshd.log")
        if os.path.exists(log):
            os.remove(log)
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", os.path.join(host.directory, "enter"),
             "/usr/sbin/sshd", "-D", "-E", log, "-f", os.path.join(host.directory, "sshd_config")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)
        host.pid = process.pid  # unshare and enter exec: the pid is sshd's
        host.process = process
        ready = f"Server listening on {host.address} port {self.port}"

        def listening():
            try:
                with open(log) as handle:
                    if ready in handle.read():
                        return True
            except FileNotFoundError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"the sshd of {host.name} exited ({process.returncode})")
            return False

        _eventually(f"the sshd of {host.name} listens", listening)

    def stop(self, index):
        """Stops host `index`'s sshd by its pid and waits for it to go (sessions open end by themselves)."""
        host = self.hosts[index]
        if host.pid is None:
            return
        if host.process.poll() is None:
            host.process.send_signal(signal.SIGTERM)
            host.process.wait(timeout=DEADLINE)
        host.pid = None

    def stop_all(self):
        for index in range(len(self.hosts)):
            self.stop(index)

    def remove(self):
        """Stops every sshd and removes every file of the hosts."""
        for index, host in enumerate(self.hosts):
            if host.pid is not None:
                self.stop(index)
        shutil.rmtree(self.directory, ignore_errors=True)

    def run(self, index, arguments, input=None):
        """Runs `arguments` in a fresh mount namespace with host `index`'s binds (whether or not its sshd runs)."""
        return subprocess.run(["unshare", "--mount", "--propagation", "private",
                               os.path.join(self.hosts[index].directory, "enter"), *arguments],
                              input=input, capture_output=True, timeout=DEADLINE)

    def crontab(self, index, user):
        """`user`'s crontab on host `index` (text, surrogate-escaped); empty when there is none."""
        result = self.run(index, ["crontab", "-u", user, "-l"])
        if result.returncode != 0:
            if result.stderr.startswith(b"no crontab"):
                return ""
            raise RuntimeError(f"crontab -l on {self.hosts[index].name}: {result.stderr!r}")
        return result.stdout.decode("utf-8", "surrogateescape")

    def install_crontab(self, index, text, user):
        result = self.run(index, ["crontab", "-u", user, "-"], input=text.encode("utf-8", "surrogateescape"))
        if result.returncode != 0:
            raise RuntimeError(f"crontab - on {self.hosts[index].name}: {result.stderr!r}")

    def ssh(self, index, *command, input=None):
        """`ssh -F ssh_config hN command…`, as an operator would run it."""
        return subprocess.run(["ssh", "-F", self.ssh_config, self.hosts[index].name, *command], input=input,
                              capture_output=True, timeout=DEADLINE)

    def _make_files(self):
        client = os.path.join(self.directory, "client_key")
        _check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", client])
        shutil.copy(client + ".pub", os.path.join(self.directory, "authorized_keys"))
        known_hosts, config = [], []
        for host in self.hosts:
            for sub in ("crontabs", "state", "run"):
                os.makedirs(os.path.join(host.directory, sub))
            spool = os.path.join(host.directory, "crontabs")
            _check(["chown", "root:crontab", spool])  # as Debian's spool: root:crontab, 1730
            os.chmod(spool, 0o1730)
            key = os.path.join(host.directory, "host_key")
            _check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
            with open(key + ".pub") as handle:
                known_hosts.append(host.name + " " + " ".join(handle.read().split()[:2]))
            config.append(f"Host {host.name}\n  HostName {host.address}\n  Port {self.port}\n  User root\n"
                          f"  HostKeyAlias {host.name}\n")
            with open(os.path.join(host.directory, "sshd_config"), "w") as handle:
                handle.write(f"ListenAddress {host.address}:{self.port}\nHostKey {key}\nPidFile none\n"
                             f"AuthorizedKeysFile {self.directory}/authorized_keys\n"
                             "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                             "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                             "MaxStartups 100:30:200\nMaxSessions 50\n")
            enter = os.path.join(host.directory, "enter")
            with open(enter, "w") as handle:
                handle.write(ENTER)
            os.chmod(enter, 0o755)
        with open(os.path.join(self.directory, "known_hosts"), "w") as handle:
            handle.write("\n".join(known_hosts) + "\n")
        config.append(f"Host *\n  IdentityFile {client}\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {self.directory}/known_hosts\n  GlobalKnownHostsFile /dev/null\n"
                      "  StrictHostKeyChecking yes\n  BatchMode yes\n")
        with open(self.ssh_config, "w") as handle:
            handle.write("".join(config))
