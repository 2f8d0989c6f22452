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
import tempfile
from pathlib import Path

from ansible_config import CONFIG, compare, config_without, report, setting

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--wait", type=float, default=5.0, help="seconds the task waits (default 5)")
    parser.add_argument("--runs", type=int, default=5, help="runs under each configuration (default 5)")
    args = parser.parse_args()
    ours = setting("internal_poll_interval", ANSIBLE_DEFAULT_POLL)
    with config_without("internal_poll_interval") as default_config, tempfile.TemporaryDirectory() as directory:
        play = playbook(Path(directory), args.wait)
        configs = {f"ansible.cfg, poll {ours}": CONFIG, f"poll {ANSIBLE_DEFAULT_POLL}": default_config}
        results = compare(configs, ["-i", "localhost,", "-c", "local", str(play)], args.runs)
    report(results, f"a task waiting {args.wait:g} s", "controller_wait.txt")


if __name__ == "__main__":
    main()
