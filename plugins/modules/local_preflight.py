#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Checks a host before the local target changes anything on it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_preflight
short_description: Check ports, prefix and Node.js before installing the local DaskHub
description:
  - Fails with one readable message listing every problem that would break
    the local target later and more obscurely, before anything changes.
  - A port is taken when something listens on it that is not a service of
    this very installation (a process whose command line contains the prefix),
    so re-runs against a running stack pass.
  - The prefix is probed by creating and removing a directory in it, or in
    its nearest existing parent.
  - Missing C(node)/C(npm) are reported in RV(missing_tools), not failed on,
    so the role can install them from the OS packages first.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  prefix:
    description: Installation prefix of the local target.
    type: path
    required: true
  ports:
    description: Ports the services will listen on, name -> port number.
    type: dict
    required: true
  tools:
    description: Commands looked up on PATH (or absolute paths), name -> command.
    type: dict
    default: {}
  accounts:
    description:
      - Hub user names that will run as the host account of the same name, by the variable that
        lists them (C(daskhub_users) -> names). Each that exists must be one the project made (a member of
        O(accounts_group)) or in O(adopted_accounts), and never uid 0 or a system uid (below UID_MIN).
    type: dict
    default: {}
  accounts_group:
    description: The group that marks the accounts the project made (local_system_users).
    type: str
    default: daskhub-users
  adopted_accounts:
    description: Existing accounts that the site maps hub users onto on purpose (C(daskhub_local_adopted_accounts)).
    type: list
    elements: str
    default: []
  service_account:
    description:
      - The service account of the shared-uid mode as the role makes it (C(name), C(home), C(shell));
        RV(service_account_in_place) says whether it exists so already. Empty, not asked.
    type: dict
    default: {}
  endpoints:
    description:
      - URLs the hub will call, by the variable that names them (C(daskhub_oauth_token_url) -> URL). Each must answer
        over HTTP (any status); one that cannot be connected to fails the check, naming its variable.
    type: dict
    default: {}
  python:
    description: Interpreter that will create the venv; checked for the minimum version and the venv module.
    type: str
  min_python:
    description: Oldest Python version the pinned stack installs on.
    type: str
    default: "3.12"
  shared_prefix:
    description:
      - Other accounts run the stack's processes (as when the play runs as
        root), so every directory above O(prefix) must be searchable by them.
    type: bool
    default: false
  cron:
    description: Also report whether cron is installed and runs (for the supervisor's watchdog).
    type: bool
    default: false
  npm_packages:
    description: npm package name -> its C(package.json); the installed version of each is reported.
    type: dict
    default: {}
  npm_locks:
    description:
      - Name -> a directory that C(npm ci) installs into from its C(package-lock.json);
        whether its C(node_modules) holds exactly what the lock locks is reported (RV(npm_locks_installed)).
    type: dict
    default: {}
  mtimes:
    description: Name -> a path whose modification time is reported (null when it does not exist).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Only reads; the prefix probe leaves nothing behind.
notes:
  - Reads C(/proc) to find who listens on a port; without it, a failing bind means taken.
"""

EXAMPLES = r"""
- name: Check the host
  daskhub.deploy.local_preflight:
    prefix: /opt/daskhub
    ports: {hub_port: 8000, gateway_port: 8002}
    tools: {node: node, npm: npm}
  register: daskhub_local_preflight
"""

RETURN = r"""
tools:
  description: Absolute path of each tool found, name -> path.
  returned: always
  type: dict
  sample: {node: /usr/bin/node, npm: /usr/bin/npm}
missing_tools:
  description: Names of the tools that were not found.
  returned: always
  type: list
  elements: str
  sample: [npm]
ports_in_use_by_us:
  description: Port names already served by this installation.
  returned: always
  type: list
  elements: str
  sample: [hub_port, hub_api_port, proxy_api_port, gateway_port, gateway_api_port]
system_accounts_in_place:
  description:
    - With O(accounts), whether the accounts of O(accounts_group) are already exactly the names in O(accounts),
      as C(daskhub.deploy.local_system_users) would make them; a converge with nothing to do skips that module.
  returned: when O(accounts) is set
  type: bool
  sample: true
service_account_in_place:
  description:
    - With O(service_account), whether that account exists with its home and shell, as the role's task would
      leave it; a converge with nothing to do skips that task.
  returned: when O(service_account) is set
  type: bool
  sample: true
first_uid:
  description: The host's UID_MIN, the first uid of ordinary accounts; the gateway runs no cluster below it.
  returned: always
  type: int
  sample: 1000
cron:
  description:
    - With O(cron), whether a cron daemon (C(daemon)) and C(crontab) are
      installed, and whether a daemon runs (C(running)).
  returned: when O(cron) is set
  type: dict
  sample: {daemon: true, crontab: true, running: true}
mtimes:
  description: The modification time of each of O(mtimes), seconds since the epoch, null for a missing path.
  returned: always
  type: dict
  sample: {hub_secrets: 1772366400.123, tokens_revoked: null}
npm_versions:
  description: The installed version of each of O(npm_packages), null when it is not installed.
  returned: always
  type: dict
  sample: {configurable-http-proxy: 4.6.3}
npm_locks_installed:
  description:
    - For each of O(npm_locks), whether a complete C(npm ci) installed its C(package-lock.json)
      (npm's hidden lockfile in C(node_modules) locks the same packages, versions and hashes).
  returned: always
  type: dict
  sample: {configurable-http-proxy: true}
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host.preflight import PreflightError, preflight
from ansible_collections.daskhub.deploy.plugins.module_utils.host.system_users import HUB_USERS_GROUP
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    "prefix": {"type": "path", "required": True},
    "ports": {"type": "dict", "required": True},
    "tools": {"type": "dict", "default": {}},
    "python": {"type": "str"},
    "min_python": {"type": "str", "default": "3.12"},
    "shared_prefix": {"type": "bool", "default": False},
    "accounts": {"type": "dict", "default": {}},
    "accounts_group": {"type": "str", "default": HUB_USERS_GROUP},
    "adopted_accounts": {"type": "list", "elements": "str", "default": []},
    "service_account": {"type": "dict", "default": {}},
    "cron": {"type": "bool", "default": False},
    "npm_packages": {"type": "dict", "default": {}},
    "npm_locks": {"type": "dict", "default": {}},
    "mtimes": {"type": "dict", "default": {}},
    "endpoints": {"type": "dict", "default": {}},
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, lambda module: preflight(module.params), (PreflightError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
