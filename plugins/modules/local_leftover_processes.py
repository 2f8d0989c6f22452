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
    under one of O(paths) (the local target's venv and proxy), sends each
    C(SIGTERM), waits up to O(timeout) seconds, then sends C(SIGKILL) to
    what is left. Its own process and its parents are never matched.
  - It needs neither supervisord nor the venv to work, so it also stops the
    services themselves, their proxies and a supervisord of a broken site
    (supervisord first, so that it restarts nothing; C(configurable-http-proxy)
    may ignore C(SIGTERM) and then gets C(SIGKILL)). It looks again until
    nothing is left (at most three rounds), for what was started meanwhile.
  - Linux only (it reads C(/proc)).
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
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
    description: Shows no diff; there is no file or list to compare.
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
  description: The pids that had to be sent C(SIGKILL) after O(timeout).
  returned: always
  type: list
  elements: int
  sample: [4242]
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host import processes
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    "paths": {"type": "list", "elements": "path", "required": True},
    "timeout": {"type": "int", "default": 20},
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, processes.run_leftovers, (ValueError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
