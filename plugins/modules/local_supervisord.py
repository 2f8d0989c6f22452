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
  - With I(state=started), starts supervisord when its socket does not
    answer; otherwise applies changed program definitions (C(reread) and
    C(update), which restarts only the changed programs), restarts the
    programs in I(restart), and starts programs that are not running.
  - Waits until every program in I(programs) is RUNNING and fails with
    its status and log tail otherwise.
  - With I(state=stopped), shuts supervisord and its programs down.
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
attributes:
  check_mode:
    support: full
    description: Reports what it would start or restart, stopped programs included, and their status.
"""

EXAMPLES = r"""
- name: Run supervisord
  daskhub.deploy.local_supervisord:
    venv_bin: /opt/daskhub/venv/bin
    config: /opt/daskhub/etc/supervisord.conf
    programs: [jupyterhub, dask-gateway]

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
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule


class Supervisor:
    def __init__(self, module):
        self.module = module
        self.bin = module.params["venv_bin"]
        self.config = module.params["config"]

    def ctl(self, *args):
        return self.module.run_command([os.path.join(self.bin, "supervisorctl"), "-c", self.config, *args])

    def running(self):
        rc, out, _err = self.ctl("pid")
        return rc == 0 and out.strip().isdigit()

    def status(self):
        _rc, out, _err = self.ctl("status")
        states = {}
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 2 and not line.startswith(("unix://", "http://")):
                states[fields[0]] = fields[1]
        return states

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)


def apply_changes(module, sup, result):
    """On a running supervisord: changed definitions, requested restarts, stopped programs."""
    # reread lists programs whose definition changed; update restarts only those.
    rc, out, err = sup.ctl("reread")
    if rc != 0:
        module.fail_json(msg=f"supervisorctl reread failed: {(err or out).strip()}", **result)
    touched = [line.split(":", 1)[0].strip() for line in out.splitlines() if ":" in line]
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
        },
        supports_check_mode=True,
    )
    sup = Supervisor(module)
    timeout = module.params["timeout"]
    result = {"changed": False, "started": False, "restarted": [], "status": {}}
    running = sup.running()

    if module.params["state"] == "stopped":
        if running:
            result["changed"] = True
            if not module.check_mode:
                sup.ctl("shutdown")
                if not sup.wait(lambda: not sup.running(), timeout):
                    module.fail_json(msg=f"supervisord ({sup.config}) did not stop within {timeout}s", **result)
        module.exit_json(**result)

    if not running:
        result.update(changed=True, started=True)
        if module.check_mode:
            module.exit_json(**result)
        # supervisord daemonizes by default and returns once forked.
        rc, out, err = module.run_command([os.path.join(sup.bin, "supervisord"), "-c", sup.config])
        if rc != 0:
            module.fail_json(msg=f"supervisord -c {sup.config} failed: {(err or out).strip()}", **result)
        if not sup.wait(sup.running, timeout):
            module.fail_json(msg=f"supervisord ({sup.config}) did not answer within {timeout}s", **result)
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
            + ", ".join(f"{name} is {state}" for name, state in bad.items())
            + f" (see the logs named in {sup.config})",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
