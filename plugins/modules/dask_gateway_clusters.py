#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Lists every user's Dask clusters through the gateway and stops the selected ones."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dask_gateway_clusters
short_description: List every user's Dask Gateway clusters and stop old ones or those of given users
description:
  - Lists the active (pending or running) clusters of every hub user through
    the Dask Gateway's REST API, with their user, start time, age and
    connected workers.
  - Stops the clusters older than O(older_than), or those of O(users), or
    those matching both when both are given; with neither it only lists.
  - The gateway (dask-gateway-server 2026.3.0) lists and stops only the
    caller's own clusters, even for hub admins. So O(hub_token) must be
    allowed to create tokens for other users (the hub's C(tokens) scope; a
    service in the C(admin) role, such as the site's user-sync service when
    C(daskhub_admin_users) is set). The module mints one short-lived token
    per user with the single scope C(access:services!service=dask-gateway),
    and revokes them all before it returns.
  - Used by C(playbooks/clusters.yml) on the local target; on Kubernetes that
    playbook works on the DaskCluster resources instead.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
extends_documentation_fragment:
  - daskhub.deploy.hub_connection.url
  - daskhub.deploy.hub_connection
  - daskhub.deploy.attributes.check_mode_only
options:
  gateway_url:
    description: The gateway's address, C(<hub>/services/dask-gateway).
    type: str
    required: true
  gateway_service:
    description: Name of the gateway's hub service (the scope of the minted tokens).
    type: str
    default: dask-gateway
  older_than:
    description:
      - Stop clusters that started longer ago than this, in seconds or with a
        unit (C(45s), C(30m), C(2h), C(1d), C(1h30m)).
    type: str
  users:
    description:
      - Only look at these hub users' clusters, and stop them (all of them,
        or with O(older_than) the old ones). Names the hub does not know are
        reported in RV(unknown_users).
    type: list
    elements: str
    default: []
  orphaned:
    description:
      - Stop the clusters whose owner is no longer a hub user (with O(older_than) or O(users), only those
        of them that match). They are listed whenever O(gateway_db) is given.
    type: bool
    default: false
  gateway_db:
    description:
      - The gateway's sqlite database on the host (the local target). The gateway's API lists only the
        caller's clusters, and a user the hub no longer has cannot call it, so the clusters of removed
        users are found here, read-only. The gateway lets only a cluster's owner stop it, so to stop one
        the module creates its owner on the hub again, stops the cluster as that user and deletes the user
        right after.
    type: path
  timeout:
    description: Seconds to wait for each request.
    type: float
    default: 30
notes:
  - Check mode lists and returns in RV(selected) what would be stopped, and
    stops nothing (it still mints and revokes the listing tokens).
  - Clusters of users deleted from the hub cannot be reached this way; the
    gateway's idle timeout (C(daskhub_gateway_idle_timeout)) stops them.
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: List every running cluster
  daskhub.deploy.dask_gateway_clusters:
    hub_url: http://127.0.0.1:8000
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
    gateway_url: http://127.0.0.1:8000/services/dask-gateway

- name: Stop clusters older than a day
  daskhub.deploy.dask_gateway_clusters:
    hub_url: "{{ daskhub_hub_url }}"
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
    gateway_url: "{{ daskhub_hub_url }}/services/dask-gateway"
    older_than: 1d

- name: Stop all of alice's clusters
  daskhub.deploy.dask_gateway_clusters:
    hub_url: "{{ daskhub_hub_url }}"
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
    gateway_url: "{{ daskhub_hub_url }}/services/dask-gateway"
    users: [alice]
"""

RETURN = r"""
clusters:
  description: Every active cluster found, before any was stopped.
  returned: always
  type: list
  elements: dict
  sample:
    - name: 4c1e0f8a2b6d4f0e9d0a1b2c3d4e5f60
      user: alice
      status: RUNNING
      started: "2026-03-01T10:00:00Z"
      age_seconds: 7260
      workers: 2
      options: {worker_cores: 1, worker_memory: 2}
selected:
  description: The clusters chosen to stop (in check mode, that would be stopped), records as in RV(clusters).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: 9b2f61d07c3e4a5b8e1f2a3b4c5d6e7f, user: bob, status: RUNNING, started: "2026-02-28T08:00:00Z",
       age_seconds: 100800, workers: 0, options: {worker_cores: 2, worker_memory: 4}}
stopped:
  description: Names of the clusters stopped by this run (empty in check mode).
  returned: always
  type: list
  elements: str
  sample: [4c1e0f8a2b6d4f0e9d0a1b2c3d4e5f60]
unknown_users:
  description: Names in O(users) that the hub does not know.
  returned: always
  type: list
  elements: str
  sample: [mallory]
lines:
  description: One human-readable line per cluster found.
  returned: always
  type: list
  elements: str
  sample:
    - "4c1e0f8a2b6d4f0e9d0a1b2c3d4e5f60  user=alice  status=RUNNING  age=2h1m  workers=2"
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import HUB_CONNECTION_SPEC
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.dask_clusters import ClustersError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.gateway_clusters import clusters_run
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork, warned

ARGUMENT_SPEC = {
    **HUB_CONNECTION_SPEC,
    "gateway_url": {"type": "str", "required": True},
    "gateway_service": {"type": "str", "default": "dask-gateway"},
    "older_than": {"type": "str"},
    "users": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "float", "default": 30},
    "orphaned": {"type": "bool", "default": False},
    "gateway_db": {"type": "path"},
}


MODULE_WORK = ModuleWork(
    ARGUMENT_SPEC,
    lambda module: warned(module, clusters_run(module.params, check=module.check_mode)),
    (HubAPIError, ClustersError),
)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
