"""Where the test suite's CPU time goes, from the kernel's process accounting.

On two cores the suite is CPU-bound: its wall time is about its CPU time
over two, so a cut in wall time is a cut in CPU somewhere. This reads a
process-accounting file (BSD acct v3, Debian's ``acct`` package: ``accton``
writes it, one record per process when it ends, with its command name, CPU,
pid and parent pid) and prints the CPU seconds by program and by who
started it.

    .venv/bin/python bench/suite_cpu.py run [COMMAND...]  # root: accounting on, COMMAND (scripts/test.sh), off
    .venv/bin/python bench/suite_cpu.py report FILE       # the tables of an accounting file

``run`` keeps its file in build/bench/suite.pacct. The tables:

- by program: each command name, Ansible's forked workers apart from its main
  processes (``ansible-playbook*``), and the module processes Ansible starts
  (a Python under ``sh -c`` under a worker) apart from other Python;
- by starter: each process counted under the nearest ancestor that says what
  it is for (ansible-lint, ansible-test, Molecule, a hub, a gateway, a
  supervisord, a pytest worker...), so a hub's spawned servers and kernels
  count under the hub.

Command names are the kernel's (15 characters); the record has no
arguments, so a playbook's name is not known here (tests/support/playbooks.py
logs each test run's playbook with its CPU in build/test-results/ansible-runs.tsv).
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACCT = ROOT / "build" / "bench" / "suite.pacct"
# Ancestors that name what their descendants' CPU is for, most specific first.
STARTERS = (
    "ansible-lint",
    "ansible-test",
    "molecule",
    "jupyterhub",
    "dask-gateway-se",
    "supervisord",
    "chromium",
    "ansible-playboo",
    "ansible",
)


@dataclass
class Process:
    comm: str
    cpu: float
    ppid: int
    forked: bool


def read_pacct(path: Path) -> dict[int, Process]:
    """pid -> Process, from ``dump-acct`` (acct's own reader of the v3 format)."""
    dump = shutil.which("dump-acct") or "/usr/sbin/dump-acct"
    out = subprocess.run([dump, str(path)], capture_output=True, text=True, check=True).stdout
    processes: dict[int, Process] = {}
    for line in out.splitlines():
        fields = [part.strip() for part in line.split("|")]
        # comm|version|utime|stime|etime|uid|gid|mem|io|pid|ppid|flags|exitcode|tty|start (times in 1/100 s)
        if len(fields) < 12 or fields[1] != "v3":
            continue
        cpu = (float(fields[2]) + float(fields[3])) / 100
        processes[int(fields[9])] = Process(fields[0], cpu, int(fields[10]), "F" in fields[11])
    return processes


def program(processes: dict[int, Process], pid: int) -> str:
    """What the process ran: its command name, a forked worker marked, a module process named as one."""
    process = processes[pid]
    name = process.comm + ("*" if process.forked else "")
    if process.comm.startswith("python"):
        parents = []
        up = process.ppid
        while up in processes and len(parents) < 3:
            parents.append(processes[up])
            up = processes[up].ppid
        if len(parents) == 3 and [p.comm for p in parents[:2]] == ["sh", "sh"] and parents[2].forked:
            return "module process (python < sh < sh < worker)"
    return name


def starter(processes: dict[int, Process], pid: int) -> str:
    """The nearest ancestor (or the process itself) that says what the CPU is for."""
    chain = []
    while pid in processes and len(chain) < 64:
        chain.append(processes[pid])
        pid = processes[pid].ppid
    for name in STARTERS:
        for process in chain:
            if process.comm == name and not process.forked:
                if name == "ansible-playboo":
                    return "ansible-playbook run"
                return name
    for process in chain:
        if process.comm == "pytest":
            return "pytest (its workers and what they start directly)"
    return "other (the suite's scripts: docs, chart envs, linters)"


def table(title: str, totals: dict[str, list[float]], total: float, rows: int) -> str:
    lines = [f"{title:<52} {'CPU s':>8} {'share':>6} {'count':>6}"]
    for name, (cpu, count) in sorted(totals.items(), key=lambda item: -item[1][0])[:rows]:
        lines.append(f"{name:<52} {cpu:8.1f} {cpu / total:6.1%} {int(count):6d}")
    return "\n".join(lines)


def report(path: Path, rows: int = 25) -> str:
    processes = read_pacct(path)
    total = sum(process.cpu for process in processes.values()) or 1.0
    by_program: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    by_starter: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    for pid, process in processes.items():
        for totals, key in ((by_program, program(processes, pid)), (by_starter, starter(processes, pid))):
            totals[key][0] += process.cpu
            totals[key][1] += 1
    return "\n\n".join(
        [
            f"{path}: {len(processes)} processes, {total:.0f} s of CPU",
            table("by program", by_program, total, rows),
            table("by starter (nearest telling ancestor)", by_starter, total, rows),
        ]
    )


def run(command: list[str]) -> int:
    if os.geteuid() != 0:
        sys.exit("bench/suite_cpu.py run: process accounting (accton) needs root")
    accton = shutil.which("accton") or "/usr/sbin/accton"
    if not os.path.exists(accton):
        sys.exit("bench/suite_cpu.py run: no accton; install Debian's acct package (apt-get install acct)")
    PACCT.parent.mkdir(parents=True, exist_ok=True)
    PACCT.write_bytes(b"")
    subprocess.run([accton, str(PACCT)], check=True)
    try:
        # COMMAND runs where this was started; by default this checkout's suite.
        status = subprocess.run(command or [str(ROOT / "scripts" / "test.sh")], check=False).returncode
    finally:
        subprocess.run([accton, "off"], check=False)
    print(report(PACCT))
    return status


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        return run(argv[1:])
    if argv[:1] == ["report"] and len(argv) == 2:
        print(report(Path(argv[1])))
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
