#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Stops the processes that still run the local target's software once its services are down."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_leftover_processes
short_description: Stop what still runs from a local DaskHub's prefix after its services stopped
description:
  - Users' notebook servers, their kernels and the Dask clusters' schedulers
    and workers run in sessions of their own, so that they outlive a restart
    of the hub or the gateway (C(cleanup_servers) and
    C(stop_clusters_on_shutdown) are off). Stopping the services therefore
    leaves them running, from software that uninstall is about to remove.
  - This module finds every process whose executable or command line lies
    under one of I(paths) (the local target's venv and proxy), sends each
    C(SIGTERM), waits up to I(timeout) seconds, then sends C(SIGKILL) to
    what is left. Its own process and its parents are never matched.
  - Linux only (it reads C(/proc)).
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  paths:
    description: Directories whose programs must no longer run (absolute paths).
    type: list
    elements: path
    required: true
  timeout:
    description: Seconds to wait after C(SIGTERM) before C(SIGKILL).
    type: int
    default: 20
attributes:
  check_mode:
    support: full
    description: Lists the processes it would stop and stops none.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Stop the users' servers and Dask clusters left after the services
  daskhub.deploy.local_leftover_processes:
    paths:
      - /opt/daskhub/venv
      - /opt/daskhub/proxy
"""

RETURN = r"""
stopped:
  description: The processes found (and, out of check mode, stopped), each with its pid and command line.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "command": "/opt/daskhub/venv/bin/python /opt/daskhub/venv/bin/jupyterhub-singleuser"}]
killed:
  description: The pids that had to be sent SIGKILL after I(timeout).
  returned: always
  type: list
  elements: int
"""

import contextlib
import os
import signal
import time

from ansible.module_utils.basic import AnsibleModule

PROC = "/proc"


def _under(path: str, directories: list[str]) -> bool:
    return any(path == directory or path.startswith(directory + "/") for directory in directories)


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...); [] once the process is gone."""
    try:
        with open(f"{PROC}/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
    except (OSError, IndexError):
        return []


def _ancestors() -> set[int]:
    """This process and its parents (ansible's own Python may live in a matched venv)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        fields = _stat(pid)
        if len(fields) < 2:
            break
        pid = int(fields[1])
    return pids


def leftover_processes(directories: list[str]) -> list[dict]:
    """Every process (but this one and its parents) whose executable or an argument lies under ``directories``."""
    directories = [os.path.realpath(directory).rstrip("/") for directory in directories]
    skip = _ancestors()
    found = []
    for entry in os.listdir(PROC):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            with open(f"{PROC}/{entry}/cmdline", "rb") as raw:
                argv = [arg.decode(errors="replace") for arg in raw.read().split(b"\0") if arg]
            try:
                executable = os.readlink(f"{PROC}/{entry}/exe")
            except OSError:  # a kernel thread, or a process of another user we may not read
                executable = ""
        except OSError:  # gone meanwhile
            continue
        if _under(executable, directories) or any(_under(arg, directories) for arg in argv):
            found.append({"pid": int(entry), "command": " ".join(argv)[:300]})
    return found


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"  # a zombie is gone but for its parent


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # ended meanwhile
        os.kill(pid, signum)


def stop(processes: list[dict], timeout: float) -> list[int]:
    """SIGTERM each, wait up to ``timeout``, SIGKILL the rest; returns the pids that needed SIGKILL."""
    pids = [process["pid"] for process in processes]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    killed = [pid for pid in pids if _alive(pid)]
    for pid in killed:
        _signal(pid, signal.SIGKILL)
    return killed


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "timeout": {"type": "int", "default": 20},
        },
        supports_check_mode=True,
    )
    relative = [path for path in module.params["paths"] if not os.path.isabs(path)]
    if relative:
        module.fail_json(msg=f"paths must be absolute: {relative}")
    found = leftover_processes(module.params["paths"])
    killed = [] if module.check_mode or not found else stop(found, module.params["timeout"])
    module.exit_json(changed=bool(found), stopped=found, killed=killed)


if __name__ == "__main__":
    main()
