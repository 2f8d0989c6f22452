#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Reads the names of every user of a running JupyterHub."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jupyterhub_user_list
short_description: Read the names of every user of a running JupyterHub
description:
  - Reads every user with the paginated C(GET /users) of the hub's REST API (without the pagination
    header the hub silently stops at 200 users) and returns their names and which are admins.
  - Changes nothing. Used by C(playbooks/clusters.yml) on Kubernetes to tell the Dask clusters whose
    owner is no longer a hub user.
  - O(hub_token) needs the scopes C(list:users) and C(read:users).
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
extends_documentation_fragment:
  - daskhub.deploy.hub_connection.url
  - daskhub.deploy.hub_connection
options:
  timeout:
    description: Seconds to wait for each API request.
    type: float
    default: 30
"""

EXAMPLES = r"""
- name: Read the hub's users
  daskhub.deploy.jupyterhub_user_list:
    hub_url: "{{ daskhub_hub_url }}"
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
  register: hub_users
"""

RETURN = r"""
users:
  description: The name of every hub user, sorted.
  returned: success
  type: list
  elements: str
  sample: [alice, bob, carol]
admins:
  description: The names of the hub's admin users, sorted.
  returned: success
  type: list
  elements: str
  sample: [carol]
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.hub import user_sync
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import HUB_CONNECTION_SPEC
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    **HUB_CONNECTION_SPEC,
    "timeout": {"type": "float", "default": 30},
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, user_sync.run_list, (HubAPIError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
