"""Pause and resume across many hosts (issue 27's scale figure): `pgwarden upgrade` of a trivial migration (`/bin/true`)
with a crontab worker set on each of N hosts (real sshd instances on this machine, 127.0.2.x, as the fault suite
makes them), against the runbook done by hand in the same run: per host, serially, `ssh host crontab -u USER -l`,
the worker lines commented out, `ssh host crontab -u USER -`; then the same to put them back. Replaces the
"Pause and resume across hosts" section of BENCHMARKS.md.

    python scripts/bench_fleet.py PGWARDEN [--hosts 20] [--rounds 3] [--parallel 1,8] [--parallel-key parallel_hosts]
                                  [--compare OTHER --compare-name NAME --compare-parallel 1,8] [--no-write]

--parallel: the number of hosts pgwarden pauses at once, given to it as the top-level key --parallel-key of the
deployment file, one row per value; `default` (the default) gives no key: pgwarden's own default. Needs libpq's
environment of a scratch cluster (scripts/pg env: the upgrade's dsn) and PGWARDEN_BENCH_CRONTAB_USER (default
pgwarden-bench-fleet), a user whose crontab on the hosts it may write (the hosts' spools are their own, never this
machine's)."""
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultsuite.sshhosts import SSHHosts  # noqa: E402


def option(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


PGWARDEN = sys.argv[1]
# Another build measured beside it in the same run (a branch with pauses of several hosts at once, say).
COMPARE, COMPARE_NAME = option("--compare"), option("--compare-name", "other build")
COMPARE_PARALLEL = option("--compare-parallel", "default").split(",")
NAME = option("--name", "this build")
HOSTS = int(option("--hosts", "20"))
ROUNDS = int(option("--rounds", "3"))
PARALLEL = option("--parallel", "default").split(",")
PARALLEL_KEY = option("--parallel-key", "parallel_hosts")
USER = os.environ.get("PGWARDEN_BENCH_CRONTAB_USER", "pgwarden-bench-fleet")
CRONTAB = ("MAILTO=ops@example.org\n"
           "*/5 * * * * cd /srv/app && python app-cli process-queue --runforseconds 3540 > /dev/null 2>&1\n"
           "0 * * * * cd /srv/app && python app-cli collection-store-finished\n"
           "*/10 * * * * cd /srv/app && python app-cli send-reminders\n"
           "0 1 * * 1-5 /srv/reports/report-cli nightly\n")


def timed(action):
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


def by_hand(hosts):
    """The runbook: per host, serially, read the crontab, comment out the worker lines, install it; then put each
    back. Returns (pause seconds, resume seconds)."""
    saved = {}

    def pause():
        for index in range(HOSTS):
            listed = hosts.ssh(index, "crontab", "-u", USER, "-l")
            assert listed.returncode == 0, listed.stderr
            saved[index] = listed.stdout
            paused = re.sub(rb"(?m)^(?=[^#\n].*app-cli)", b"#paused-by-hand# ", listed.stdout)
            installed = hosts.ssh(index, "crontab", "-u", USER, "-", input=paused)
            assert installed.returncode == 0, installed.stderr

    def resume():
        for index in range(HOSTS):
            installed = hosts.ssh(index, "crontab", "-u", USER, "-", input=saved[index])
            assert installed.returncode == 0, installed.stderr

    pause_seconds, _ = timed(pause)
    for index in range(HOSTS):
        assert b"#paused-by-hand# " in hosts.crontab(index, USER).encode()
    resume_seconds, _ = timed(resume)
    return pause_seconds, resume_seconds


def config(hosts, work, parallel, pgwarden):
    q = json.dumps
    text = (f"dsn = {q('dbname=' + os.environ.get('PGDATABASE', 'postgres'))}\ninteractive = false\n"
            f"command = [\"/bin/true\"]\nssh_config = {q(hosts.ssh_config)}\nremote_pgwarden = {q(pgwarden)}\n"
            f"report = {q(os.path.join(work, 'report.json'))}\n")
    if parallel != "default":
        text += f"{PARALLEL_KEY} = {int(parallel)}\n"
    for host in hosts.hosts:
        text += f"\n[[workers]]\nkind = \"crontab\"\nuser = {q(USER)}\nmatch = [\"app-cli\"]\nhost = {q(host.name)}\n"
    path = os.path.join(work, f"fleet-{parallel}-{abs(hash(pgwarden))}.toml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def stamp(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def phases(report):
    """(preflight, pause, resume seconds) from the report's steps: first start to last finish of each kind."""
    def span(prefix):
        steps = [s for s in report.get("steps", []) if s.get("name", "").startswith(prefix) and s.get("finished_at")]
        if not steps:
            return None
        return max(stamp(s["finished_at"]) for s in steps) - min(stamp(s["started_at"]) for s in steps)
    return span("preflight"), span("pause "), span("resume ")


def with_pgwarden(hosts, work, parallel, pgwarden=PGWARDEN):
    """One upgrade across every host: (wall seconds, preflight seconds, pause seconds, resume seconds)."""
    state = tempfile.mkdtemp(prefix="state-", dir=work)
    path = config(hosts, work, parallel, pgwarden)
    seconds, result = timed(lambda: subprocess.run(
        [pgwarden, "upgrade", "--config", path, "--state-dir", state, "--no-interactive"],
        capture_output=True, text=True, timeout=600))
    if result.returncode != 0:
        sys.exit(f"error: the upgrade across {HOSTS} hosts failed ({result.returncode}): {result.stderr[-2000:]}")
    with open(os.path.join(work, "report.json")) as handle:
        preflight, pause, resume = phases(json.load(handle))
    for index in range(HOSTS):
        if hosts.crontab(index, USER) != CRONTAB:
            sys.exit(f"error: h{index + 1}'s crontab did not come back byte for byte")
    return seconds, preflight, pause, resume


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def main():
    work = tempfile.mkdtemp(prefix="pgwarden-bench-fleet-")
    started, hosts = timed(lambda: SSHHosts(HOSTS, prefix="127.0.2", parent=work))
    try:
        for index in range(HOSTS):
            hosts.install_crontab(index, CRONTAB, USER)
        hand = [by_hand(hosts) for _ in range(ROUNDS)]
        rows = {}
        for parallel in PARALLEL:
            rows[(NAME, parallel)] = [with_pgwarden(hosts, work, parallel) for _ in range(ROUNDS)]
        for parallel in COMPARE_PARALLEL if COMPARE else []:
            rows[(COMPARE_NAME, parallel)] = [with_pgwarden(hosts, work, parallel, COMPARE) for _ in range(ROUNDS)]
        hand_again = [by_hand(hosts) for _ in range(ROUNDS)]  # after, too: the machine's load moves
    finally:
        hosts.remove()
        shutil.rmtree(work, ignore_errors=True)
    hand += hand_again
    hand_total = median([p + r for p, r in hand])
    table = [
        "| how | preflight s | pause s | resume s | total s (median) | per host ms | ÷ by hand |",
        "| :--- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| by hand: `ssh host crontab -l` / `crontab -` per host, serially | — | {median([p for p, _ in hand]):.2f} "
        f"| {median([r for _, r in hand]):.2f} | {hand_total:.2f} | {hand_total / HOSTS * 1000:.0f} | 1.00× |",
    ]
    for (build, parallel), runs in rows.items():
        total = median([s for s, _, _, _ in runs])
        label = "its default" if parallel == "default" else f"`{PARALLEL_KEY} = {parallel}`"
        table.append(f"| `pgwarden upgrade` (preflight, pause, `/bin/true`, resume), {build}, {label} "
                     f"| {median([f for _, f, _, _ in runs]):.2f} | {median([p for _, _, p, _ in runs]):.2f} "
                     f"| {median([r for _, _, _, r in runs]):.2f} | {total:.2f} "
                     f"| {total / HOSTS * 1000:.0f} | {total / hand_total:.2f}× |")
        print(f"{build}, parallel {parallel}: {[round(s, 2) for s, _, _, _ in runs]} s", flush=True)
    print(f"by hand: {[round(p + r, 2) for p, r in hand]} s", flush=True)
    print("\n".join(table))
    load = os.getloadavg()[0]
    section = "\n".join([
        "## Pause and resume across hosts",
        "",
        f"Written by `scripts/bench_fleet.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"({os.path.basename(os.path.dirname(PGWARDEN))} build). Machine: {os.cpu_count()} cores "
        f"({platform.machine()}) shared with other builds and test runs (load average {load:.1f} at the end): "
        "wall times move with that load; the ratio, measured in the same run, less.",
        "",
        f"{HOSTS} hosts: real sshd instances on this machine (127.0.2.2–{HOSTS + 1}, each in a mount namespace of its"
        f" own with its own crontab spool and state directory, started in {started:.1f} s), each with a crontab of"
        f" {len(CRONTAB.splitlines())} lines, 3 of them workers (`app-cli`). Each figure the median of {ROUNDS}"
        f" rounds ({2 * ROUNDS} by hand: before and after). pgwarden: `upgrade --config` of `/bin/true` with one"
        " `[[workers]]` set per host: preflight (each host's version and plan), the pauses, the migration, the"
        " resumes; pause and resume from its report's steps, the total is the whole command's wall time. By hand:"
        " what the runbook does, per host, serially, one `ssh` for `crontab -l` and one for `crontab -` to pause,"
        " one `crontab -` to resume (no check, no journal, no version check)."
        + (f" Two builds, each its own coordinator and hosts' pgwarden: {NAME} and {COMPARE_NAME}." if COMPARE else ""),
        "",
        *table,
        "",
        "Rerun: `scripts/bench --fleet` (or `python scripts/bench_fleet.py PGWARDEN --parallel 1,8` once pauses of"
        " several hosts at once exist, `--parallel-key` naming their key).",
        "",
    ])
    if "--no-write" in sys.argv:
        print(section)
        return
    text = open("BENCHMARKS.md").read() if os.path.exists("BENCHMARKS.md") else "# Benchmarks\n"
    text = re.sub(r"\n## Pause and resume across hosts\n.*?(?=\n## |\Z)", "\n", text, flags=re.S).rstrip("\n")
    with open("BENCHMARKS.md", "w") as handle:
        handle.write(text + "\n\n" + section)


main()
