#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Runs the local target's supervisord and applies program changes."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_supervisord
short_description: Start the local DaskHub supervisord idempotently and restart only what changed
description:
  - Used where systemd is not PID 1 (containers, CI, workstations without
    systemd). supervisord comes from the local target's venv.
  - With I(state=started), starts supervisord when it does not answer on its
    socket; otherwise applies changed program definitions (C(reread) and
    C(update), which restarts only the changed programs), restarts the
    programs in I(restart), and starts programs that are not running.
  - Before it starts supervisord, it stops what a dead supervisord of this
    I(config) left running (killed by SIGKILL or the OOM killer), namely the
    programs, everything in their process groups, and their proxies
    (configurable-http-proxy from I(proxy_dir), dask-gateway-proxy from the
    venv), C(SIGTERM) then C(SIGKILL) after I(stop_timeout). They would
    hold the ports the new programs need. Users' notebook servers, kernels
    and Dask clusters run in sessions of their own and are left alone; the
    restarted hub and gateway adopt them. The role's cron watchdog runs the
    same code (module_utils/host/processes.py).
  - Waits until every program in I(programs) is RUNNING and fails with
    their status otherwise, naming the process that holds a port a program
    needs (I(ports)).
  - With I(state=stopped), shuts supervisord and its programs down. It never
    fails on a broken venv or a supervisord that does not answer; it warns,
    and leaves the rest to C(local_leftover_processes).
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  venv_bin:
    description: C(bin) directory of the venv with supervisord and supervisorctl.
    type: path
    required: true
  config:
    description: supervisord configuration file.
    type: path
    required: true
  state:
    description: Whether supervisord runs.
    type: str
    choices: [started, stopped]
    default: started
  programs:
    description: Programs that must end up RUNNING.
    type: list
    elements: str
    default: []
  restart:
    description: Programs to restart (handlers pass the ones whose config changed).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for supervisord and the programs.
    type: int
    default: 60
  proxy_dir:
    description:
      - The prefix of configurable-http-proxy, whose orphaned processes are
        stopped before supervisord starts. Without it only the programs'
        process groups and dask-gateway-proxy are found.
    type: path
  ports:
    description: Program name -> the TCP ports it listens on, to name who holds one when the program cannot start.
    type: dict
    default: {}
  stop_timeout:
    description: Seconds from C(SIGTERM) to C(SIGKILL) when stopping the orphans of a dead supervisord.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: >-
      Reports what it would start or restart, stopped programs included, and
      their status, and the orphans it would stop.
"""

EXAMPLES = r"""
- name: Run supervisord
  daskhub.deploy.local_supervisord:
    venv_bin: /opt/daskhub/venv/bin
    config: /opt/daskhub/etc/supervisord.conf
    proxy_dir: /opt/daskhub/proxy
    programs: [jupyterhub, dask-gateway]
    ports:
      jupyterhub: [8000, 8081, 8001]
      dask-gateway: [8002, 8003]

- name: Restart the hub after its config changed
  daskhub.deploy.local_supervisord:
    venv_bin: /opt/daskhub/venv/bin
    config: /opt/daskhub/etc/supervisord.conf
    restart: [jupyterhub]
"""

RETURN = r"""
started:
  description: supervisord was started by this call.
  returned: always
  type: bool
restarted:
  description: Programs restarted or updated by this call.
  returned: always
  type: list
  elements: str
status:
  description: Program name -> supervisor state after the call.
  returned: always
  type: dict
orphans:
  description: >-
    What a dead supervisord had left running and this call stopped (in check
    mode: would stop), each with its pid and command line.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "command": "/opt/daskhub/venv/bin/python /opt/daskhub/venv/bin/jupyterhub -f ..."}]
killed:
  description: The pids of I(orphans) that needed C(SIGKILL).
  returned: always
  type: list
  elements: int
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports
from ansible_collections.daskhub.deploy.plugins.module_utils.host import processes as local_processes


class Supervisor:
    def __init__(self, module):
        self.module = module
        self.bin = module.params["venv_bin"]
        self.config = module.params["config"]

    def ctl(self, *args):
        command = os.path.join(self.bin, "supervisorctl")
        if not os.access(command, os.X_OK):  # a broken or half-installed venv
            return 127, "", f"{command} is missing"
        return self.module.run_command([command, "-c", self.config, *args])

    def running(self):
        # Asks supervisord on its socket, without the venv's supervisorctl.
        return local_processes.supervisord_pid(self.config) is not None

    def status(self):
        return local_processes.supervisor_states(self.config)

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)


def _port_holders(module, program):
    """Why a program may not start: who holds the ports it needs (a process supervisord does not know)."""
    held = []
    for port in module.params["ports"].get(program) or []:
        holder = host_ports.port_holders(int(port))
        if holder:
            held.append(f"port {port} is held by {holder}")
    return f" ({'; '.join(held)})" if held else ""


def apply_changes(module, sup, result):
    """On a running supervisord: changed definitions, requested restarts, stopped programs."""
    # reread lists programs whose definition changed; update restarts only those.
    try:
        touched = local_processes.supervisor_reread(sup.config)
    except local_processes.RPC_ERRORS as err:
        module.fail_json(msg=f"supervisord did not reread its configuration: {err}", **result)
    if touched:
        result["changed"] = True
        result["restarted"].extend(touched)
        if not module.check_mode:
            sup.ctl("update")
    for name in module.params["restart"]:
        if name in result["restarted"]:
            continue
        result["changed"] = True
        result["restarted"].append(name)
        if not module.check_mode:
            rc, out, err = sup.ctl("restart", name)
            if rc != 0:
                module.fail_json(msg=f"supervisorctl restart {name} failed: {(err or out).strip()}", **result)
    # Check mode reads the status too: a stopped program is a change it would make.
    result["status"] = sup.status()
    for name, state in result["status"].items():
        if name in module.params["programs"] and state in ("STOPPED", "EXITED", "FATAL"):
            result["changed"] = True
            result["restarted"].append(name)
            if not module.check_mode:
                sup.ctl("start", name)


def main():
    module = AnsibleModule(
        argument_spec={
            "venv_bin": {"type": "path", "required": True},
            "config": {"type": "path", "required": True},
            "state": {"type": "str", "default": "started", "choices": ["started", "stopped"]},
            "programs": {"type": "list", "elements": "str", "default": []},
            "restart": {"type": "list", "elements": "str", "default": []},
            "timeout": {"type": "int", "default": 60},
            "proxy_dir": {"type": "path"},
            "ports": {"type": "dict", "default": {}},
            "stop_timeout": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    sup = Supervisor(module)
    timeout = module.params["timeout"]
    result = {"changed": False, "started": False, "restarted": [], "status": {}, "orphans": [], "killed": []}
    running = sup.running()

    if module.params["state"] == "stopped":
        # Uninstall runs this on any state: what cannot be shut down here is
        # stopped by local_leftover_processes after it, so warn, never fail.
        if running:
            result["changed"] = True
            if not module.check_mode:
                rc, out, err = sup.ctl("shutdown")
                if rc != 0:
                    module.warn(f"supervisorctl shutdown failed (exit {rc}): {(err or out).strip()[:300]}")
                elif not sup.wait(lambda: not sup.running(), timeout):
                    module.warn(f"supervisord ({sup.config}) did not stop within {timeout}s")
        module.exit_json(**result)

    if not running:
        result.update(changed=True, started=True)
        proxy_dir = module.params["proxy_dir"] or ""
        if module.check_mode:
            result["orphans"] = local_processes.orphans(sup.config, os.path.dirname(sup.bin), proxy_dir)
            module.exit_json(**result)
        try:
            started = local_processes.start_supervisord(
                sup.config, sup.bin, proxy_dir, module.params["stop_timeout"], timeout
            )
        except (RuntimeError, OSError) as err:
            module.fail_json(msg=str(err), **result)
        result.update(orphans=started["stopped"], killed=started["killed"], started=started["started"])
    else:
        apply_changes(module, sup, result)

    if module.check_mode:
        module.exit_json(**result)

    wanted = module.params["programs"]

    def all_running():
        result["status"] = sup.status()
        return all(result["status"].get(name) == "RUNNING" for name in wanted)

    if not sup.wait(all_running, timeout):
        bad = {
            name: result["status"].get(name, "missing") for name in wanted if result["status"].get(name) != "RUNNING"
        }
        module.fail_json(
            msg=f"supervisor programs not running after {timeout}s: "
            + ", ".join(f"{name} is {state}{_port_holders(module, name)}" for name, state in bad.items())
            + f" (see the logs named in {sup.config})",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
