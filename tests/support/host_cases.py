"""Input cases as hosts of one inventory: one ansible-playbook run answers them all.

Each start of ansible-playbook costs about 1.3 s of CPU before its first
task (bench/suite_cpu.py): a file of a dozen bad-input tests, each with its
own run, spent most of its time starting Ansible. Here each case is a host
of the inventory (local connection, its own host_vars), so one run of the
playbook checks every case, as the operator's run would check that site;
a host that fails leaves the play without stopping the others. Each test
then reads its own host's outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from support.playbooks import run_playbook


@dataclass
class HostOutcome:
    """What the run did for one case: its failed tasks' messages (in order) and its PLAY RECAP counts."""

    messages: list[str]
    stats: dict[str, int]

    @property
    def refused(self) -> bool:
        return self.stats.get("failures", 0) > 0 or self.stats.get("unreachable", 0) > 0

    @property
    def text(self) -> str:
        """The messages as one text, for the tests' ``in`` checks."""
        return "\n".join(self.messages)


@dataclass
class CasesRun:
    """The whole run: each case's outcome and the run's output (stdout and stderr), for leak checks."""

    outcomes: dict[str, HostOutcome]
    output: str

    def __getitem__(self, case: str) -> HostOutcome:
        return self.outcomes[case]

    def refusal(self, case: str) -> str:
        """The case's failure messages as one text; fails the test unless the play refused the case."""
        outcome = self.outcomes[case]
        assert outcome.refused, f"{case} was not refused: {outcome.stats}"
        return outcome.text

    def accepted(self, case: str) -> None:
        """Fails the test unless the play ran the case to its end."""
        assert not self.outcomes[case].refused, f"{case} was refused:\n{self.outcomes[case].text}"


def _message(result: dict) -> str:
    """A failed result's message with the argument spec's errors, as the default callback would show them."""
    parts = [str(result.get("msg", ""))]
    parts += [str(error) for error in result.get("argument_errors", [])]
    return "\n".join(part for part in parts if part)


def run_host_cases(
    playbook: str | Path,
    inventory: Path,
    cases: dict[str, dict],
    *args: str,
    extra_env: dict | None = None,
    timeout: float = 600,
) -> CasesRun:
    """Run ``playbook`` once on ``inventory`` with each case of ``cases`` (host name -> its variables) as a host.

    ``inventory`` holds the site's group_vars already; this writes its
    hosts.yml (every case in the group ``daskhub``) and host_vars.
    ``extra_env`` is laid over the tests' Ansible environment.
    """
    host_vars = inventory / "host_vars"
    host_vars.mkdir(exist_ok=True)
    hosts = {}
    for name, variables in cases.items():
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
        (host_vars / f"{name}.yml").write_text(yaml.safe_dump(variables))
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"daskhub": {"hosts": hosts}}}}))
    proc = run_playbook(
        str(playbook),
        "-i",
        str(inventory),
        "--forks",
        str(len(cases)),
        *args,
        extra_env={**(extra_env or {}), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"{playbook} printed no JSON report (exit {proc.returncode}):\n{output[-3000:]}") from None
    messages: dict[str, list[str]] = {name: [] for name in cases}
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") or result.get("unreachable"):
                    messages[host].append(_message(result))
    missing = sorted(set(cases) - set(data["stats"]))
    assert not missing, f"{playbook} ran nothing for {', '.join(missing)}:\n{output[-3000:]}"
    return CasesRun({name: HostOutcome(messages[name], data["stats"][name]) for name in cases}, output)
