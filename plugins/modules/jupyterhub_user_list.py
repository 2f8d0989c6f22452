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
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  api_url:
    description: The hub's REST API root, for example V(http://127.0.0.1:8000/hub/api).
    type: str
    required: true
  token:
    description: An API token with the scopes C(list:users) and C(read:users) (never logged).
    type: str
    required: true
  timeout:
    description: Seconds to wait for each API request.
    type: float
    default: 30
  validate_certs:
    description: Verify the hub's TLS certificate for an https O(api_url).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Read the hub's users
  daskhub.deploy.jupyterhub_user_list:
    api_url: "{{ daskhub_hub_api_url }}"
    token: "{{ daskhub_secrets.user_sync_api_token }}"
  register: hub_users
"""

RETURN = r"""
users:
  description: The name of every hub user, sorted.
  returned: success
  type: list
  elements: str
admins:
  description: The names of the hub's admin users, sorted.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError


def main():
    module = AnsibleModule(
        argument_spec={
            "api_url": {"type": "str", "required": True},
            "token": {"type": "str", "required": True, "no_log": True},
            "timeout": {"type": "float", "default": 30},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        client = HubClient(
            params["api_url"], params["token"], timeout=params["timeout"], validate_certs=params["validate_certs"]
        )
        users = client.list_users()
    except HubAPIError as err:
        module.fail_json(msg=str(err))
    module.exit_json(
        changed=False,
        users=sorted(user["name"] for user in users),
        admins=sorted(user["name"] for user in users if user.get("admin")),
    )


if __name__ == "__main__":
    main()
