#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Waits until a DaskHub answers: the hub API and the gateway through the hub."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daskhub_health
short_description: Wait until the hub API and the Dask Gateway behind it are healthy
description:
  - Polls C(<hub_url>/hub/api/) until it answers 200, then
    C(<hub_url>/services/dask-gateway/api/health) until it reports
    C(status=pass). The second check goes through the hub's proxy, so it also
    proves that the gateway service route exists.
  - Works for either target, given a URL the host running it can reach.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
extends_documentation_fragment:
  - daskhub.deploy.hub_connection.url
options:
  gateway:
    description: Also wait for the gateway's health through the hub.
    type: bool
    default: true
  timeout:
    description: Seconds to wait in total before failing.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    description: Only reads.
"""

EXAMPLES = r"""
- name: Wait for the hub and the gateway
  daskhub.deploy.daskhub_health:
    hub_url: http://127.0.0.1:8000
"""

RETURN = r"""
hub_version:
  description: JupyterHub version reported by the hub API.
  returned: success
  type: str
  sample: 5.5.4
checks:
  description: Check name -> the JSON body it answered (the gateway's only with O(gateway)).
  returned: success
  type: dict
  sample:
    hub API: {version: 5.5.4}
    gateway health through the hub: {status: pass}
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host import health
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import HUB_URL_SPEC
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    **HUB_URL_SPEC,
    "gateway": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 120},
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, health.run, (TimeoutError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
