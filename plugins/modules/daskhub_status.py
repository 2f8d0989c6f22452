#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A site's status in one read-only call: services, versions, users, servers, clusters, last runs, certificate."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daskhub_status
short_description: Read a DaskHub site's status in one call, changing nothing
description:
  - Asks, once each and without retries, whether the hub (its own API), the proxy (the hub's public URL) and
    the Dask Gateway (C(/api/health)) answer; on the local target also the supervisor's programs, on
    Kubernetes the release's pods (O(pods), read by M(kubernetes.core.k8s_info)).
  - Reports the versions that run (JupyterHub from the hub's API, dask-gateway-server from the gateway's
    C(/api/version), dask and distributed from the venv the clusters run in, or O(versions)), the number of
    users and admins, the running servers, and every active Dask cluster with its running workers, cores and
    memory, per user.
  - Clusters come from the gateway's own database on the local target (O(gateway_db), read-only; the
    gateway's API lists only the caller's clusters) and from the DaskCluster resources and worker pods on
    Kubernetes (O(daskclusters), O(pods)).
  - Reads the last user sync's and the last backup's result and age from O(state_dir)
    (C(user-sync-last.json), C(backups/last-backup.json)) and, when the hub's URL is https, the expiry of
    the certificate it presents.
  - Never changes anything (C(changed) is always false) and never fails for what it finds; RV(problems)
    lists a service down or a limit passed (O(max_user_sync_age), O(max_backup_age)), for the play to fail on.
version_added: 0.2.0
author: DaskHub deployer maintainers (!UNKNOWN)
extends_documentation_fragment:
  - daskhub.deploy.hub_connection.url
  - daskhub.deploy.hub_connection
  - daskhub.deploy.attributes.check_mode_only
options:
  target:
    description: The site's target.
    type: str
    choices: [local, kubernetes]
    required: true
  gateway_url:
    description: The gateway's address, C(<hub>/services/dask-gateway).
    type: str
    required: true
  hub_internal_url:
    description: The hub's own API beside its proxy (the local target's C(http://127.0.0.1:8081)); omit to skip.
    type: str
  timeout:
    description: Seconds to wait for each request.
    type: float
    default: 5
  supervisor:
    description: What runs the local target's programs; C(none) skips them (Kubernetes).
    type: str
    choices: [supervisord, systemd, none]
    default: none
  supervisor_config:
    description: The supervisord configuration file (its socket is read from it), with O(supervisor=supervisord).
    type: path
  programs:
    description:
      - The programs that must run. With O(supervisor=supervisord) supervisord's program names, with
        O(supervisor=systemd) the systemd units.
    type: list
    elements: str
    default: []
  venv:
    description: The local target's venv, whose dask and distributed the clusters run.
    type: path
  gateway_db:
    description: The local gateway's sqlite database, read-only.
    type: path
  pods:
    description: The namespace's Pods (the C(resources) of M(kubernetes.core.k8s_info)), on Kubernetes.
    type: list
    elements: dict
    default: []
  daskclusters:
    description: The namespace's DaskCluster resources (M(kubernetes.core.k8s_info)), on Kubernetes.
    type: list
    elements: dict
    default: []
  versions:
    description: Versions to report that the module cannot ask for (on Kubernetes, the images' dask and distributed).
    type: dict
    default: {}
  state_dir:
    description:
      - The site's state folder on the host the module runs on, where user sync and backups record their last run.
    type: path
    required: true
  max_user_sync_age:
    description:
      - A last successful user sync older than this (seconds, or with a unit, C(30m), C(26h), C(8d)), none on
        record, or a failed last one is a problem. Empty is not checked.
    type: str
  max_backup_age:
    description: As O(max_user_sync_age), for the last backup.
    type: str
  fail_on_stale:
    description: Whether a limit passed is listed in RV(problems) (false only shows it in the table).
    type: bool
    default: true
notes:
  - O(hub_token) needs C(list:users), C(read:users) and C(read:servers) to count servers (the site's user-sync
    token has them when the site has admins); without C(read:servers) the table says so.
"""

EXAMPLES = r"""
- name: Read the local site's status
  daskhub.deploy.daskhub_status:
    target: local
    hub_url: http://127.0.0.1:8000
    hub_internal_url: http://127.0.0.1:8081
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
    gateway_url: http://127.0.0.1:8000/services/dask-gateway
    supervisor: supervisord
    supervisor_config: /opt/daskhub/etc/supervisord.conf
    programs: [jupyterhub, dask-gateway]
    venv: /opt/daskhub/venv
    gateway_db: /opt/daskhub/state/dask_gateway.sqlite
    state_dir: inventories/local/state
    max_user_sync_age: 3600
  register: status
"""

RETURN = r"""
services:
  description: Each service, C({name, up, detail}); C(detail) is its address when up, else why it is down.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: hub, up: true, detail: "http://127.0.0.1:8081/hub/api"}
    - {name: proxy, up: true, detail: "http://127.0.0.1:8000"}
    - {name: gateway, up: true, detail: "http://127.0.0.1:8000/services/dask-gateway"}
versions:
  description: Package -> version of what runs.
  returned: always
  type: dict
  sample: {jupyterhub: 5.5.4, dask-gateway-server: 2026.3.0, dask: 2026.8.0, distributed: 2026.8.0}
now:
  description: The time of the check, UTC.
  returned: always
  type: str
  sample: "2026-03-01T12:00:00Z"
hub:
  description:
    - C({users, admins, servers, servers_visible}); null when the hub did not answer.
    - C(servers) are the running or pending servers; C(servers_visible) is false when the token lacks C(read:servers).
  returned: always
  type: dict
  sample:
    users: 3
    admins: 1
    servers:
      - {server: alice, user: alice, ready: true, pending: null, last_activity: "2026-03-01T11:58:02.123456Z"}
    servers_visible: true
clusters:
  description:
    - Every active Dask cluster, the records of M(daskhub.deploy.dask_gateway_clusters) with C(cores) and
      C(memory_bytes).
  returned: always
  type: list
  elements: dict
  sample:
    - name: 4c1e0f8a2b6d4f0e9d0a1b2c3d4e5f60
      user: alice
      status: RUNNING
      started: "2026-03-01T10:00:00Z"
      age_seconds: 7200
      workers: 2
      cores: 2.0
      memory_bytes: 4294967296
users_clusters:
  description: Per user, C({user, clusters, workers, cores, memory_bytes}).
  returned: always
  type: list
  elements: dict
  sample:
    - {user: alice, clusters: 1, workers: 2, cores: 2.0, memory_bytes: 4294967296}
user_sync:
  description:
    - The last user sync, C({found, time, ok, age_seconds, stale, limit_seconds, detail}).
    - C(stale) is true when it is older than O(max_user_sync_age) or failed.
  returned: always
  type: dict
  sample:
    found: true
    time: "2026-03-01T11:45:00Z"
    ok: true
    age_seconds: 900
    stale: false
    limit_seconds: 7200.0
    detail: 3 users before, 0 added, 0 removed
backup:
  description: The last backup, as RV(user_sync); C(detail) is the backup's path.
  returned: always
  type: dict
  sample:
    found: true
    time: "2026-03-01T02:00:00Z"
    ok: true
    age_seconds: 36000
    stale: false
    limit_seconds: 93600.0
    detail: /var/backups/daskhub/daskhub-20260301T020000Z
certificate:
  description: C({host, expires, days_left, error}) of an https hub; null over http.
  returned: always
  type: dict
  sample: {host: daskhub.example.org, expires: "2026-05-30T08:14:07Z", days_left: 89, error: null}
problems:
  description: What should fail a monitoring check; empty when all is well.
  returned: always
  type: list
  elements: str
  sample: ["gateway is down: HTTP 503: no health", "the last backup was 1d4h ago, more than 1d2h"]
lines:
  description: The table, one line each.
  returned: always
  type: list
  elements: str
  sample:
    - status of the local target at 2026-03-01T12:00:00Z
    - "  hub                          up    http://127.0.0.1:8081/hub/api"
    - "  proxy                        up    http://127.0.0.1:8000"
    - "  gateway                      up    http://127.0.0.1:8000/services/dask-gateway"
    - "versions: dask-gateway-server 2026.3.0, jupyterhub 5.5.4"
    - "users: 3 (1 admins); servers: 1 running: alice"
    - "dask clusters:"
    - "  alice: 1 cluster(s), 2 worker(s), 2 cores, 4 GiB"
    - "    4c1e0f8a2b6d4f0e9d0a1b2c3d4e5f60  user=alice  status=RUNNING  age=2h0m  workers=2  cores=2  memory=4 GiB"
    - "last user sync: ok, 15m0s ago (2026-03-01T11:45:00Z)  3 users before, 0 added, 0 removed"
    - "last backup: ok, 10h0m ago (2026-03-01T02:00:00Z)  /var/backups/daskhub/daskhub-20260301T020000Z"
    - "certificate: none (the hub is served over plain http)"
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import HUB_CONNECTION_SPEC
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {**HUB_CONNECTION_SPEC, **status.STATUS_SPEC}


MODULE_WORK = ModuleWork(
    ARGUMENT_SPEC, status.run, (HubAPIError, ValueError), {"required_if": status.STATUS_REQUIRED_IF}
)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
