"""Running this repository's playbooks and modules from tests, and reading their recap.

The one runner of the test suite: every test that starts ``ansible-playbook``
or ``ansible`` goes through :func:`run_playbook` or :func:`run_ansible`, and
reads the PLAY RECAP with :func:`recap` (the default callback) or a task's
result with :func:`task_result` (the ``ansible.builtin.json`` callback).
:func:`module_work` runs a module of this collection the way Ansible's
worker runs it on the controller, without starting Ansible.

The environment is the caller's without its ``ANSIBLE_*`` variables (a
developer's shell settings never leak into a test), then this repository's
ansible.cfg, no colours, and the project's venv first on PATH (modules and
scripts that call ``ansible-playbook`` again find the same one).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ANSIBLE_PLAYBOOK = str(VENV_BIN / "ansible-playbook")
ANSIBLE = str(VENV_BIN / "ansible")
# The controller's interpreter by another of the venv's names (its scripts'
# shebang is bin/python): a host with this interpreter runs each module in a
# process of its own, where the controller's own name runs the module's work
# in Ansible's worker (plugins/plugin_utils/in_process.py).
MODULE_PROCESS_PYTHON = str(VENV_BIN / "python3")
# Where each run's wall and CPU seconds go (one line a run), to find what the
# suite's time is spent on: build/test-results/ansible-runs.tsv.
RUN_LOG = ROOT / "build" / "test-results" / "ansible-runs.tsv"
_RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.MULTILINE)


def ansible_env(**extra: str) -> dict:
    """The environment for ansible: no inherited ANSIBLE_*, this repository's ansible.cfg, no colours."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra)
    return env


def recap(output: str, host: str = "localhost", *, required: bool = True) -> dict | None:
    """The counts (ok, changed, unreachable, failed, skipped, rescued, ignored) of ``host`` in the last PLAY RECAP.

    Without a recap for the host it fails the test, or returns None when not ``required``.
    """
    found = [match["counts"] for match in _RECAP.finditer(output) if match["host"] == host]
    if not found:
        assert not required, f"no PLAY RECAP line for {host}:\n{output[-3000:]}"
        return None
    return {name: int(value) for name, value in (pair.split("=") for pair in found[-1].split())}


def task_result(output: str | dict, task_name: str, host: str | None = None) -> dict | None:
    """The result of the last task called ``task_name`` (role prefix ignored) in ``ansible.builtin.json`` output."""
    data = json.loads(output) if isinstance(output, str) else output
    found = None
    for play in data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].split(" : ", 1)[-1] == task_name:
                hosts = task["hosts"]
                found = hosts[host] if host else next(iter(hosts.values()))
    return found


def _run(
    command: list[str],
    *,
    env: dict | None,
    extra_env: dict | None,
    timeout: float,
    cwd: Path,
    merge_stderr: bool,
) -> subprocess.CompletedProcess:
    environment = dict(env) if env is not None else ansible_env()
    environment.update(extra_env or {})
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        check=False,
        timeout=timeout,
    )
    _log_run(command, time.monotonic() - started, before)
    return proc


def _log_run(command: list[str], wall: float, before) -> None:
    """One line in RUN_LOG: the test, the program with its playbook or module, wall and CPU.

    Only those names: the rest of a command line (extra vars, module
    arguments) may hold a token.
    """
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    test = os.environ.get("PYTEST_CURRENT_TEST", "-").rsplit(" (", 1)[0]
    names = [part for part in command[1:] if part.endswith(".yml")]
    names += [command[i + 1] for i, part in enumerate(command[:-1]) if part == "-m"]
    what = " ".join([Path(command[0]).name, *(Path(name).name for name in names)])
    RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
    with RUN_LOG.open("a") as log:
        log.write(f"{test}\t{what}\t{wall:.1f}\t{cpu:.1f}\n")


def run_playbook(
    *argv: str,
    inventory: str | Path | None = None,
    env: dict | None = None,
    extra_env: dict | None = None,
    timeout: float = 300,
    cwd: Path = ROOT,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess:
    """ansible-playbook ``argv`` from the repository root; never raises on a failed play.

    ``env`` replaces the whole environment (default :func:`ansible_env`);
    ``extra_env`` is laid over it. ``merge_stderr`` puts stderr into stdout.
    """
    command = [ANSIBLE_PLAYBOOK, *(("-i", str(inventory)) if inventory else ()), *argv]
    return _run(command, env=env, extra_env=extra_env, timeout=timeout, cwd=cwd, merge_stderr=merge_stderr)


def start_playbook(
    *argv: str,
    env: dict | None = None,
    extra_env: dict | None = None,
    stdout=subprocess.PIPE,
    new_session: bool = False,
) -> subprocess.Popen:
    """ansible-playbook in the background (tests of concurrent or interrupted runs); text, stderr with stdout.

    ``stdout`` is a pipe unless a file is given; ``new_session`` makes the run
    a process group of its own, for a test that signals all of it.
    """
    environment = dict(env) if env is not None else ansible_env()
    environment.update(extra_env or {})
    return subprocess.Popen(
        [ANSIBLE_PLAYBOOK, *argv],
        cwd=ROOT,
        env=environment,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not subprocess.PIPE else None,
        text=True,
        start_new_session=new_session,
    )


def run_ansible(
    *argv: str,
    env: dict | None = None,
    extra_env: dict | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """The ``ansible`` ad-hoc command (one module on localhost, for example) from the repository root."""
    return _run([ANSIBLE, *argv], env=env, extra_env=extra_env, timeout=timeout, cwd=ROOT, merge_stderr=False)


def run_module(
    module: str, args: dict, *extra: str, timeout: float = 120, module_process: bool = False
) -> tuple[int, dict, str]:
    """daskhub.deploy.<module> run once on localhost (the ad-hoc command): (rc, its result, the output).

    ``module_process``: as a module in a process of its own, not in Ansible's worker.
    """
    if module_process:
        extra = ("-e", f"ansible_python_interpreter={MODULE_PROCESS_PYTHON}", *extra)
    proc = run_ansible("localhost", "-m", f"daskhub.deploy.{module}", "-a", json.dumps(args), *extra, timeout=timeout)
    assert "=>" in proc.stdout, proc.stdout + proc.stderr
    return proc.returncode, yaml.safe_load(proc.stdout.split("=>", 1)[1]), proc.stdout


def module_work(module: str, args: dict, *, check_mode: bool = False) -> tuple[int, dict]:
    """daskhub.deploy.<module> for ``args``, run here as Ansible's worker runs it on the controller: (rc, result).

    The module's work (its MODULE_WORK) with its arguments checked by its own
    spec (plugins/plugin_utils/in_process.py's ``run_work``), what a task on
    the controller runs in Ansible's worker; rc is 2 when it failed, as
    ansible's. tests/unit/plugins/plugin_utils/test_in_process.py shows the
    result to be the module process's. For tests that call a module many
    times: each :func:`run_module` starts Ansible first (about a second of
    CPU).
    """
    # Here, not at the top: it imports Ansible's action plugins, which the
    # tests that only run playbooks need not pay for.
    from ansible_collections.daskhub.deploy.plugins.plugin_utils.in_process import run_work  # noqa: PLC0415

    work = importlib.import_module(f"ansible_collections.daskhub.deploy.plugins.modules.{module}").MODULE_WORK
    result = run_work(f"daskhub.deploy.{module}", work, args, check_mode, False)
    return (2 if result.get("failed") else 0), result
