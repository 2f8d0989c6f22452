# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""What must hold of a host before the local target changes anything on it, all said at once.

The work of modules/local_preflight.py (its documentation lists the checks);
``preflight`` is the one call. The interpreter is asked by host/python_probe.py.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.daskhub.deploy.plugins.module_utils.host import accounts as host_accounts
from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports
from ansible_collections.daskhub.deploy.plugins.module_utils.host import probes as host_probes
from ansible_collections.daskhub.deploy.plugins.module_utils.host import processes as host_processes
from ansible_collections.daskhub.deploy.plugins.module_utils.host import python_probe
from ansible_collections.daskhub.deploy.plugins.module_utils.host import system_users as host_system_users
from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import version_tuple


class PreflightError(Exception):
    """Every problem found, in one message that lists them."""

    def __init__(self, problems: list[str]):
        super().__init__("The local target cannot be installed:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems
        self.result = {"problems": problems}  # what the module reports beside the message


def python_problem(python: str, minimum: str) -> str | None:
    """Why ``python`` cannot make the stack's venv, or None: it runs python_probe (its venv, pip, TLS, sqlite3)."""
    if not os.access(python, os.X_OK):
        return f"{python} cannot run (no executable file there)"
    info, problem = python_probe.run(python)
    if problem:
        return f"{python} lacks what the stack needs ({problem}; on Debian install python3-venv)"
    if version_tuple(info["short"]) < version_tuple(minimum):
        return (
            f"{python} is Python {info['short']}; the pinned stack needs Python >= {minimum} "
            "(set daskhub_local_python to such an interpreter)"
        )
    return None


def preflight(params: dict) -> dict:
    """The module's checks (``params`` are its options): its result; raises PreflightError listing every problem."""
    prefix = params["prefix"]
    problems = []
    problem = host_probes.prefix_problem(prefix)
    if problem:
        problems.append(f"daskhub_local_prefix: {problem}")
    ours = []
    for name, value in sorted(params["ports"].items()):
        try:
            port = int(value)
        except (TypeError, ValueError):
            problems.append(f"daskhub_local_{name}: not a port number: {value!r}")
            continue
        owner = host_ports.port_owner(port, prefix)
        if owner == "ours":
            ours.append(name)
        elif owner:
            problems.append(
                f"daskhub_local_{name}: port {port} is already taken by {owner}; "
                f"stop it or set daskhub_local_{name} to a free port"
            )
    if params["python"]:
        problem = python_problem(params["python"], params["min_python"])
        if problem:
            problems.append(f"daskhub_local_python: {problem}")
    closed = host_probes.closed_parent(prefix) if params["shared_prefix"] else None
    if closed:
        problems.append(
            f"daskhub_local_prefix: {closed} (above {prefix}) is not searchable by other accounts, "
            "which run the notebooks and clusters; choose a prefix outside it or chmod o+x it"
        )
    first_uid = host_accounts.uid_min()
    problems += host_accounts.account_problems(
        {variable: list(names or []) for variable, names in params["accounts"].items()},
        params["accounts_group"],
        params["adopted_accounts"],
        first_uid,
    )
    for variable, url in sorted((params.get("endpoints") or {}).items()):
        problem = host_probes.endpoint_problem(str(url))
        if problem:
            problems.append(f"{variable}: {problem}")
    found, missing = {}, []
    for name, command in sorted(params["tools"].items()):
        path = (
            shutil.which(command) if not os.path.isabs(command) else (command if os.access(command, os.X_OK) else None)
        )
        if path:
            found[name] = path
        else:
            missing.append(name)
    if problems:
        raise PreflightError(problems)
    # What the host already has, asked here rather than by a task each:
    # a converge with nothing to do pays one module start for all of it.
    facts = {
        "npm_versions": {
            name: host_probes.npm_package_version(path) for name, path in sorted(params["npm_packages"].items())
        },
        "mtimes": {name: host_probes.mtime(path) for name, path in sorted(params["mtimes"].items())},
        "npm_locks_installed": {
            name: host_probes.npm_lock_installed(path) for name, path in sorted((params.get("npm_locks") or {}).items())
        },
    }
    if params["cron"]:
        facts["cron"] = host_probes.cron_probe(host_processes.all_processes())
    if params["accounts"]:
        names = {name for names in params["accounts"].values() for name in names or ()}
        facts["system_accounts_in_place"] = host_system_users.in_place(names, params["accounts_group"])
    if params.get("service_account"):
        facts["service_account_in_place"] = host_system_users.account_in_place(**params["service_account"])
    return {
        "changed": False,
        "tools": found,
        "missing_tools": missing,
        "ports_in_use_by_us": ours,
        "first_uid": first_uid,
        **facts,
    }
