#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jupyterhub_users
short_description: Declare the users, admins and groups of a running JupyterHub
version_added: "0.1.0"
description:
  - Makes the users of a running JupyterHub match a desired list through the hub's REST API, without
    restarting the hub.
  - Reads every user with the paginated C(GET /users) (without the pagination header the hub silently
    stops at 200 users), adds missing users with one bulk C(POST /users), flips admin flags with C(PATCH)
    and, when O(exclusive=true), deletes users that are not desired with C(DELETE) requests run with
    bounded parallelism. Connection errors and 5xx answers are retried with backoff.
  - Only the hub's own answers count. An error answer without JupyterHub's C(X-JupyterHub-Version) header
    comes from the proxy in front of the hub (a restarting hub's proxy answers 404 until the hub has
    re-added its route); it is retried for O(unavailable_timeout) seconds and never read as "already gone".
    After deleting, the module reads the hub's users again and reports as removed only the users the hub
    no longer has.
  - Usernames are normalised as JupyterHub does (stripped, lowercased unless O(lowercase=false)). Every
    invalid name is reported in one error before anything changes.
  - Fails closed, before any change, when the desired list is empty while the hub has users, or when more
    users would be deleted than O(max_deletions) allows (unless O(force_deletions=true)).
  - O(hub_token) needs the scopes C(list:users), C(read:users) and C(admin:users); on the sites it is the
    C(user-sync) service's token. Granting or revoking admin
    (O(admins)) also needs the token's owner to be a hub admin (for a service, membership of the C(admin)
    role). Managing O(groups) needs C(list:groups), C(read:groups) and C(admin:groups).
author:
  - DaskHub deployer maintainers (!UNKNOWN)
extends_documentation_fragment:
  - daskhub.deploy.hub_connection.url
  - daskhub.deploy.hub_connection
  - daskhub.deploy.hub_connection.requests
options:
  users:
    description: The desired users. Admins in O(admins) are users too and need not be repeated here.
    type: list
    elements: str
    default: []
  admins:
    description:
      - The desired admins. When set, admin flags are managed, users in this list become admins and
        other admins lose the flag (except O(protected_users)).
      - When omitted (null), admin flags are left as they are.
    type: list
    elements: str
  exclusive:
    description: Delete hub users that are neither in O(users) nor in O(admins) nor in O(protected_users).
    type: bool
    default: false
  protected_users:
    description: Users that are never deleted and never lose their admin flag.
    type: list
    elements: str
    default: []
  max_deletions:
    description:
      - The most users one run may delete, as a count (V(25)) or a percentage of the users the hub has
        now (V(10%), rounded down). When exceeded the module fails and changes nothing.
      - Null or empty means no limit.
    type: str
  force_deletions:
    description: Delete even when O(max_deletions) is exceeded.
    type: bool
    default: false
  allow_empty:
    description:
      - Accept an empty desired list while the hub has users (and O(exclusive) or O(admins) is set).
        Without it the module refuses, because an empty or unreadable source is more likely than an
        intended wipe.
    type: bool
    default: false
  protected_groups:
    description:
      - Members of these JupyterHub groups are protected as O(protected_users) are.
      - "For the groups an identity provider manages (oauthenticator's C(manage_groups)): their members were let in
        at login by group, and no source of this module lists them. Needs C(list:groups) and C(read:groups)."
    type: list
    elements: str
    default: []
  groups:
    description:
      - Desired members of JupyterHub groups, as a mapping of group name to a list of usernames. Groups
        named here are created when missing and get exactly these members; other groups are not touched.
    type: dict
  lowercase:
    description:
      - Lowercase usernames, as JupyterHub's default C(Authenticator.normalize_username) does. Turn it off
        only when the hub's authenticator keeps case.
    type: bool
    default: true
  username_pattern:
    description: A regular expression every username must match in full (the hub's C(Authenticator.username_pattern)).
    type: str
notes:
  - Check mode only reads the hub. With C(--diff) the diff lists the hub's users before and after, admins
    marked C((admin)); the token is never shown.
  - JupyterHub 5 changed C(allowed_users) semantics. Users added through the API log in on a 5.x hub only
    when C(Authenticator.allow_existing_users) is true (its default when C(allowed_users) is set); the
    daskhub targets render it true.
seealso:
  - module: daskhub.deploy.jupyterhub_user_source
attributes:
  check_mode:
    description: Only reads the hub and reports what it would change.
    support: full
  diff_mode:
    description: The diff lists the hub's users before and after.
    support: full
"""

EXAMPLES = r"""
- name: Sync the hub's users from the inventory
  daskhub.deploy.jupyterhub_users:
    hub_url: http://127.0.0.1:8000
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
    users: "{{ daskhub_users }}"
    admins: "{{ daskhub_admin_users }}"
    exclusive: true
    protected_users: "{{ daskhub_admin_users }}"
    max_deletions: "10%"

- name: Add users only, never delete, leave admin flags alone
  daskhub.deploy.jupyterhub_users:
    hub_url: "{{ daskhub_hub_url }}"
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
    users: [alice, bob]

- name: Manage group membership too
  daskhub.deploy.jupyterhub_users:
    hub_url: "{{ daskhub_hub_url }}"
    hub_token: "{{ daskhub_secrets.user_sync_api_token }}"
    users: [alice, bob, carol]
    groups:
      physics: [alice, bob]
"""

RETURN = r"""
added:
  description: Users created (in check mode, that would be created), admins included.
  returned: always
  type: list
  elements: str
  sample: [carol]
removed:
  description: Users deleted (or that would be).
  returned: always
  type: list
  elements: str
  sample: [mallory]
admins_granted:
  description: Users that became admins, new admins included.
  returned: always
  type: list
  elements: str
  sample: [carol]
admins_revoked:
  description: Users that lost the admin flag.
  returned: always
  type: list
  elements: str
  sample: [bob]
kept_protected:
  description: Users not desired but kept because they are protected.
  returned: always
  type: list
  elements: str
  sample: [daskhub-verify-user]
groups:
  description: Per managed group, whether it was created and the members added and removed.
  returned: always
  type: dict
  sample: {physics: {create: false, add: [carol], remove: []}}
counts:
  description: Counts of the users on the hub before the run, desired, added, removed, admin flips.
  returned: always
  type: dict
  sample: {current: 4, desired: 4, added: 1, removed: 1, admins_granted: 0, admins_revoked: 0, kept_protected: 0}
hub_version:
  description: The JupyterHub version that answered.
  returned: always
  type: str
  sample: 5.5.4
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.hub import user_sync
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import HUB_CONNECTION_SPEC, HUB_REQUEST_SPEC
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {**HUB_CONNECTION_SPEC, **HUB_REQUEST_SPEC, **user_sync.SYNC_SPEC}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, user_sync.run)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
