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
  - With O(state=started), starts supervisord when it does not answer on its
    socket; otherwise applies changed program definitions (C(reread) and
    C(update), which restarts only the changed programs), restarts the
    programs in O(restart), and starts programs that are not running.
  - Before it starts supervisord, it stops what a dead supervisord of this
    O(config) left running (killed by SIGKILL or the OOM killer), namely the
    programs, everything in their process groups, and their proxies
    (configurable-http-proxy from O(proxy_dir), dask-gateway-proxy from the
    venv), C(SIGTERM) then C(SIGKILL) after O(stop_timeout). They would
    hold the ports the new programs need. Users' notebook servers, kernels
    and Dask clusters run in sessions of their own and are left alone; the
    restarted hub and gateway adopt them. The role's cron watchdog runs the
    same code (module_utils/host/processes.py); the rest is module_utils/host/supervisor.py.
  - Waits until every program in O(programs) is RUNNING and fails with
    their status otherwise, naming the process that holds a port a program
    needs (O(ports)).
  - With O(state=stopped), shuts supervisord and its programs down. It never
    fails on a broken venv or a supervisord that does not answer; it warns,
    and leaves the rest to C(local_leftover_processes).
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
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
  health_url:
    description:
      - The hub's URL. When set, after the programs are RUNNING, waits until
        C(<health_url>/hub/api/) answers and the gateway reports healthy
        through the hub's proxy (as C(daskhub_health) does), and fails
        otherwise. Not in check mode.
    type: str
  health_timeout:
    description: Seconds to wait for O(health_url).
    type: int
    default: 120
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
  sample: false
restarted:
  description: Programs restarted or updated by this call.
  returned: always
  type: list
  elements: str
  sample: [jupyterhub]
status:
  description: Program name -> supervisor state after the call.
  returned: always
  type: dict
  sample: {jupyterhub: RUNNING, dask-gateway: RUNNING}
orphans:
  description: >-
    What a dead supervisord had left running and this call stopped (in check
    mode: would stop), each with its pid and command line.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "command": "/opt/daskhub/venv/bin/python /opt/daskhub/venv/bin/jupyterhub -f ..."}]
killed:
  description: The pids of RV(orphans) that needed C(SIGKILL).
  returned: always
  type: list
  elements: int
  sample: [4242]
health:
  description: With O(health_url), each check's name -> the JSON body it answered.
  returned: when O(health_url) is set, not in check mode
  type: dict
  sample:
    hub API: {version: 5.5.4}
    gateway health through the hub: {status: pass}
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host.supervisor import SupervisorError, ensure_supervisord
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    "venv_bin": {"type": "path", "required": True},
    "config": {"type": "path", "required": True},
    "state": {"type": "str", "default": "started", "choices": ["started", "stopped"]},
    "programs": {"type": "list", "elements": "str", "default": []},
    "restart": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "int", "default": 60},
    "proxy_dir": {"type": "path"},
    "ports": {"type": "dict", "default": {}},
    "stop_timeout": {"type": "int", "default": 10},
    "health_url": {"type": "str"},
    "health_timeout": {"type": "int", "default": 120},
}


MODULE_WORK = ModuleWork(
    ARGUMENT_SPEC,
    lambda module: ensure_supervisord(module.run_command, module.params, module.check_mode, module.warn),
    (SupervisorError,),
)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
