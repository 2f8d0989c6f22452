# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target's supervisord, driven for a play: started, its changes applied, its programs waited for.

The work of modules/local_supervisord.py (its documentation says what each
state does); ``ensure_supervisord`` is the one call. Starting a supervisord
that does not answer, after stopping what a dead one left, is
``processes.start_supervisord``: the watchdog runs that too, from a copy of
processes.py alone, so it lives there. Here is what only the play does on a
supervisord that answers: ask its programs' states, reread, restart; and
wait until the hub and the gateway serve (``health_url``).

supervisorctl runs through ``run`` (the module's run_command: argv -> (rc,
stdout, stderr)).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ansible_collections.daskhub.deploy.plugins.module_utils.host import health, processes
from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports
from ansible_collections.daskhub.deploy.plugins.module_utils.host.module_io import Run
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import hub_base_url
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleFailure


class SupervisorError(ModuleFailure):
    """supervisord or one of its programs does not do as asked."""


def supervisor_states(config: str, timeout: float = 10) -> dict[str, str]:
    """Program -> its state (RUNNING, FATAL, ...) as supervisord of ``config`` tells; empty when it does not answer.

    Asked on the socket, where supervisorctl costs an interpreter start.
    """
    proxy = processes.supervisor_rpc(config, timeout)
    try:
        infos = proxy.supervisor.getAllProcessInfo() if proxy else []
    except processes.RPC_ERRORS:
        return {}
    return {
        info["name"] if info["group"] == info["name"] else f"{info['group']}:{info['name']}": info["statename"]
        for info in infos
    }


def systemd_states(run: Run, units) -> dict[str, str]:
    """Unit -> RUNNING, or its ActiveState in capitals (FAILED, INACTIVE, ...; UNKNOWN where systemctl fails)."""
    states = {}
    for unit in units:
        rc, out, _unused = run(["systemctl", "show", "-p", "ActiveState", "--value", unit])
        active = out.strip() if rc == 0 else "unknown"
        states[unit] = "RUNNING" if active == "active" else active.upper()
    return states


def supervisor_reread(config: str, timeout: float = 10) -> list[str]:
    """supervisorctl's ``reread``: the programs whose definition was added, changed or removed."""
    proxy = processes.supervisor_rpc(config, timeout)
    if proxy is None:
        raise OSError(f"supervisord of {config} has no socket")
    added, changed, removed = proxy.supervisor.reloadConfig()[0]
    return sorted(set(added) | set(changed) | set(removed))


class Supervisor:
    """The supervisord of ``config``, asked on its socket, told with the venv's supervisorctl."""

    def __init__(self, run: Run, venv_bin: str, config: str):
        self.run = run
        self.bin = venv_bin
        self.config = config

    def ctl(self, *args):
        command = os.path.join(self.bin, "supervisorctl")
        if not os.access(command, os.X_OK):  # a broken or half-installed venv
            return 127, "", f"{command} is missing"
        return self.run([command, "-c", self.config, *args])

    def running(self):
        # Asks supervisord on its socket, without the venv's supervisorctl.
        return processes.supervisord_pid(self.config) is not None

    def status(self):
        return supervisor_states(self.config)

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)


def _port_holders(ports: dict, program: str) -> str:
    """Why a program may not start: who holds the ports it needs (a process supervisord does not know)."""
    held = []
    for port in ports.get(program) or []:
        holder = host_ports.port_holders(int(port))
        if holder:
            held.append(f"port {port} is held by {holder}")
    return f" ({'; '.join(held)})" if held else ""


def apply_changes(sup: Supervisor, params: dict, check_mode: bool, result: dict) -> None:
    """On a running supervisord: changed definitions, requested restarts, stopped programs."""
    # reread lists programs whose definition changed; update restarts only those.
    try:
        touched = supervisor_reread(sup.config)
    except processes.RPC_ERRORS as err:
        raise SupervisorError(f"supervisord did not reread its configuration: {err}", result) from None
    if touched:
        result["changed"] = True
        result["restarted"].extend(touched)
        if not check_mode:
            sup.ctl("update")
    for name in params["restart"]:
        if name in result["restarted"]:
            continue
        result["changed"] = True
        result["restarted"].append(name)
        if not check_mode:
            rc, out, err = sup.ctl("restart", name)
            if rc != 0:
                raise SupervisorError(f"supervisorctl restart {name} failed: {(err or out).strip()}", result)
    # Check mode reads the status too: a stopped program is a change it would make.
    result["status"] = sup.status()
    for name, state in result["status"].items():
        if name in params["programs"] and state in ("STOPPED", "EXITED", "FATAL"):
            result["changed"] = True
            result["restarted"].append(name)
            if not check_mode:
                sup.ctl("start", name)


def _shut_down(sup: Supervisor, timeout: int, check_mode: bool, warn: Callable[[str], None], result: dict) -> dict:
    # Uninstall runs this on any state: what cannot be shut down here is
    # stopped by local_leftover_processes after it, so warn, never fail.
    if sup.running():
        result["changed"] = True
        if not check_mode:
            rc, out, err = sup.ctl("shutdown")
            if rc != 0:
                warn(f"supervisorctl shutdown failed (exit {rc}): {(err or out).strip()[:300]}")
            elif not sup.wait(lambda: not sup.running(), timeout):
                warn(f"supervisord ({sup.config}) did not stop within {timeout}s")
    return result


def ensure_supervisord(run: Run, params: dict, check_mode: bool, warn: Callable[[str], None]) -> dict:
    """The module's work (``params`` are its options): the result to exit with; raises SupervisorError."""
    sup = Supervisor(run, params["venv_bin"], params["config"])
    timeout = params["timeout"]
    result = {"changed": False, "started": False, "restarted": [], "status": {}, "orphans": [], "killed": []}
    if params["state"] == "stopped":
        return _shut_down(sup, timeout, check_mode, warn, result)

    if not sup.running():
        result.update(changed=True, started=True)
        proxy_dir = params["proxy_dir"] or ""
        if check_mode:
            result["orphans"] = processes.orphans(sup.config, os.path.dirname(sup.bin), proxy_dir)
            return result
        try:
            started = processes.start_supervisord(sup.config, sup.bin, proxy_dir, params["stop_timeout"], timeout)
        except (RuntimeError, OSError) as err:
            raise SupervisorError(str(err), result) from None
        result.update(orphans=started["stopped"], killed=started["killed"], started=started["started"])
    else:
        apply_changes(sup, params, check_mode, result)

    if check_mode:
        return result

    wanted = params["programs"]

    def all_running():
        result["status"] = sup.status()
        return all(result["status"].get(name) == "RUNNING" for name in wanted)

    if not sup.wait(all_running, timeout):
        bad = {
            name: result["status"].get(name, "missing") for name in wanted if result["status"].get(name) != "RUNNING"
        }
        raise SupervisorError(
            f"supervisor programs not running after {timeout}s: "
            + ", ".join(f"{name} is {state}{_port_holders(params['ports'], name)}" for name, state in bad.items())
            + f" (see the logs named in {sup.config})",
            result,
        )
    if params.get("health_url"):
        # RUNNING is not serving: a hub still migrating its database, or a
        # gateway the hub's proxy does not route to yet, is not up. Asked in
        # this call, where a task of its own cost a module start.
        try:
            result["health"] = health.wait_healthy(
                hub_base_url(params["health_url"]), gateway=True, timeout=params["health_timeout"]
            )
        except TimeoutError as err:
            raise SupervisorError(str(err), result) from None
    return result
