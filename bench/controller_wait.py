"""The controller's CPU while a task waits, under this repository's ansible.cfg and under Ansible's default poll.

    .venv/bin/python bench/controller_wait.py [--wait SECONDS] [--runs N]

Runs a one-task playbook (``sleep`` on localhost, the way a task waits for a
hub's restart or a user's server) N times under ansible.cfg as it is, and N
times under a copy of it that takes Ansible's default ``internal_poll_interval``
(1 ms), in turn; prints each run's CPU seconds (ansible-playbook and its
children) and wall seconds, and the medians. The copy sits next to ansible.cfg
for the runs (its relative paths are the repository's) and is removed after.
Results are appended to bench/results/controller_wait.txt.
"""

from __future__ import annotations

import argparse
import configparser
import datetime
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_DEFAULT_POLL = "0.001"


def playbook(directory: Path, wait: float) -> Path:
    path = directory / "wait.yml"
    path.write_text(
        "- name: One task that waits\n"
        "  hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Wait\n"
        f"      ansible.builtin.command: sleep {wait}\n"
        "      changed_when: false\n"
    )
    return path


def repository_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "ansible.cfg")
    return config


def default_poll_config() -> Path:
    """ansible.cfg with Ansible's default poll interval, beside it."""
    config = repository_config()
    config.remove_option("defaults", "internal_poll_interval")
    path = ROOT / "ansible-bench-default-poll.cfg"
    with path.open("w") as handle:
        config.write(handle)
    return path


def timed_run(config: Path, play: Path) -> tuple[float, float]:
    """(CPU seconds of ansible-playbook and its children, wall seconds) of one run."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(play)],
        env={"ANSIBLE_CONFIG": str(config), "PATH": f"{ANSIBLE_PLAYBOOK.parent}:/usr/bin:/bin"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--wait", type=float, default=5.0, help="seconds the task waits (default 5)")
    parser.add_argument("--runs", type=int, default=5, help="runs under each configuration (default 5)")
    args = parser.parse_args()
    ours = repository_config().get("defaults", "internal_poll_interval", fallback=ANSIBLE_DEFAULT_POLL)
    default_config = default_poll_config()
    configs = {f"ansible.cfg, poll {ours}": ROOT / "ansible.cfg", f"poll {ANSIBLE_DEFAULT_POLL}": default_config}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
    try:
        with tempfile.TemporaryDirectory() as directory:
            play = playbook(Path(directory), args.wait)
            for _run in range(args.runs):
                for name, config in configs.items():
                    results[name].append(timed_run(config, play))
    finally:
        default_config.unlink(missing_ok=True)
    lines = []
    for name, runs in results.items():
        cpus, walls = [run[0] for run in runs], [run[1] for run in runs]
        lines.append(
            f"{name}: a task waiting {args.wait:g} s, runs={args.runs} median CPU {statistics.median(cpus):.2f} s,"
            f" median wall {statistics.median(walls):.2f} s (CPU each: {' '.join(f'{cpu:.2f}' for cpu in cpus)})"
        )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with (ROOT / "bench" / "results" / "controller_wait.txt").open("a") as log:
        for line in lines:
            print(line)
            log.write(f"{stamp} {line}\n")


if __name__ == "__main__":
    main()
