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
  - DaskHub deployer maintainers
extends_documentation_fragment:
  - daskhub.deploy.hub_connection
options:
  users:
    description:
      - The desired users. Admins in O(admins) are users too and need not be repeated here.
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
    description:
      - Delete hub users that are neither in O(users) nor in O(admins) nor in O(protected_users).
    type: bool
    default: false
  protected_users:
    description:
      - Users that are never deleted and never lose their admin flag.
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
    description:
      - Delete even when O(max_deletions) is exceeded.
    type: bool
    default: false
  allow_empty:
    description:
      - Accept an empty desired list while the hub has users (and O(exclusive) or O(admins) is set).
        Without it the module refuses, because an empty or unreadable source is more likely than an
        intended wipe.
    type: bool
    default: false
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
    description:
      - A regular expression every username must match in full (the hub's C(Authenticator.username_pattern)).
    type: str
  timeout:
    description:
      - Seconds to wait for each API request.
    type: float
    default: 30
  retries:
    description:
      - Retries of a request after a connection error, timeout or 5xx answer, with exponential backoff.
    type: int
    default: 3
  parallelism:
    description:
      - The most C(DELETE) or C(PATCH) requests in flight at once.
    type: int
    default: 8
  unavailable_timeout:
    description:
      - Seconds to keep retrying a request that the proxy in front of the hub answers instead of the hub
        (the hub is down or restarting).
    type: float
    default: 90
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
    support: full
  diff_mode:
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
admins_revoked:
  description: Users that lost the admin flag.
  returned: always
  type: list
  elements: str
kept_protected:
  description: Users not desired but kept because they are protected.
  returned: always
  type: list
  elements: str
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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import ADMIN_ROLE_HINT, HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import (
    HUB_CONNECTION_SPEC,
    TOKEN_NAMES,
    hub_client,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.users import (
    PlanError,
    diff_text,
    normalize_names,
    plan_users,
)

ARGUMENT_SPEC = {
    **HUB_CONNECTION_SPEC,
    "users": {"type": "list", "elements": "str", "default": []},
    "admins": {"type": "list", "elements": "str"},
    "exclusive": {"type": "bool", "default": False},
    "protected_users": {"type": "list", "elements": "str", "default": []},
    "max_deletions": {"type": "str"},
    "force_deletions": {"type": "bool", "default": False},
    "allow_empty": {"type": "bool", "default": False},
    "groups": {"type": "dict"},
    "lowercase": {"type": "bool", "default": True},
    "username_pattern": {"type": "str"},
    "timeout": {"type": "float", "default": 30},
    "retries": {"type": "int", "default": 3},
    "parallelism": {"type": "int", "default": 8},
    "unavailable_timeout": {"type": "float", "default": 90.0},
}


def _normalized_inputs(p):
    """Every name list normalised; all invalid names in one PlanError."""
    kw = {"lowercase": p["lowercase"], "pattern": p["username_pattern"]}
    problems = []

    def norm(names, label):
        try:
            return normalize_names(names, label=label, **kw)
        except PlanError as exc:
            problems.append(str(exc))
            return []

    users = norm(p["users"], "users")
    admins = None if p["admins"] is None else norm(p["admins"], "admins")
    protected = norm(p["protected_users"], "protected_users")
    groups = None
    if p["groups"]:
        groups = {}
        for group, members in p["groups"].items():
            if not isinstance(members, list):
                problems.append(f"groups.{group} must be a list of usernames")
                continue
            groups[str(group)] = norm(members, f"groups.{group}")
    if problems:
        raise PlanError("; ".join(problems))
    return users, admins, protected, groups


def _preflight(client, plan):
    """Fail before any change if the token cannot make the planned changes.

    A 403 half-way through would leave users added but admins unset; the
    token's own model (GET /user) says what it may do.
    """
    try:
        me = client.whoami() or {}
    except HubAPIError as exc:
        if exc.status == 403:
            return
        raise
    scopes = me.get("scopes")
    needs_users = plan.add or plan.add_admins or plan.remove or plan.grant_admin or plan.revoke_admin
    if needs_users and isinstance(scopes, list) and not any(s == "admin:users" for s in scopes):
        raise HubAPIError(
            f"the token of {me.get('kind', 'service')} {me.get('name')!r} lacks the scope admin:users needed "
            "to add, delete or change users. Give the user-sync service's role the scopes list:users, "
            "read:users and admin:users in the hub's load_roles. Nothing was changed."
        )
    needs_admin = plan.add_admins or plan.grant_admin or plan.revoke_admin
    roles = me.get("roles") or []
    is_admin = bool(me.get("admin")) or "admin" in roles
    if needs_admin and not is_admin:
        raise HubAPIError(f"{me.get('name')!r} may not change admin flags: {ADMIN_ROLE_HINT}. Nothing was changed.")


def _apply(client, plan, done):
    """Make the changes; ``done`` records progress for a partial-failure report."""
    if plan.add:
        client.create_users(plan.add)
        done["added"].extend(plan.add)
    if plan.add_admins:
        client.create_users(plan.add_admins, admin=True)
        done["added"].extend(plan.add_admins)
    flags = {n: True for n in plan.grant_admin}
    flags.update({n: False for n in plan.revoke_admin})
    _, errors = client.set_admins(flags)
    done["admins_granted"].extend(n for n in plan.grant_admin if n not in errors)
    done["admins_revoked"].extend(n for n in plan.revoke_admin if n not in errors)
    if errors:
        raise _first_error(errors, "admin flag change")
    _, errors = client.delete_users(plan.remove)
    if plan.remove:
        # What the hub confirms, not what the answers suggested: a deletion
        # may have landed although its answer was lost in a restart.
        still_there = _still_on_the_hub(client, plan.remove, errors)
        done["removed"].extend(n for n in plan.remove if n not in still_there)
        failed = {n: errors.get(n) or HubAPIError("the hub still has this user") for n in sorted(still_there)}
        if failed:
            raise _first_error(failed, "deletion")
    for group, change in plan.group_changes.items():
        if change["create"]:
            client.create_group(group)
        if change["add"]:
            client.add_group_members(group, change["add"])
        if change["remove"]:
            client.remove_group_members(group, change["remove"])


def _still_on_the_hub(client, names, errors):
    """The names of ``names`` the hub still has; when it can't be asked, those whose DELETE failed."""
    try:
        current = {user["name"] for user in client.list_users()}
    except HubAPIError:
        return set(errors)
    return {name for name in names if name in current}


def _first_error(errors, what):
    name, exc = sorted(errors.items())[0]
    return HubAPIError(f"{len(errors)} {what}(s) failed, first for {name!r}: {exc}", status=exc.status)


def _invocation(p):
    """A short echo of the arguments: with thousands of users the full echo
    costs the controller seconds; the token is never part of it."""
    left_out = (*TOKEN_NAMES, "users", "admins", "protected_users", "groups")
    summary = {k: v for k, v in p.items() if k not in left_out}
    summary["users"] = f"<{len(p['users'] or [])} names>"
    summary["admins"] = None if p["admins"] is None else f"<{len(p['admins'])} names>"
    summary["protected_users"] = p["protected_users"]
    summary["groups"] = sorted(p["groups"] or {})
    return {"module_args": summary}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    result = {
        "invocation": _invocation(p),
        "changed": False,
        "added": [],
        "removed": [],
        "admins_granted": [],
        "admins_revoked": [],
        "kept_protected": [],
        "groups": {},
        "counts": {},
        "hub_version": "",
    }
    try:
        users, admins, protected, groups = _normalized_inputs(p)
        client = hub_client(
            p,
            timeout=p["timeout"],
            retries=p["retries"],
            parallelism=p["parallelism"],
            unavailable_timeout=p["unavailable_timeout"],
        )
        result["hub_version"] = str((client.info() or {}).get("version", ""))
        current = {u["name"]: bool(u.get("admin")) for u in client.list_users()}
        current_groups = None
        if groups:
            current_groups = {g["name"]: g.get("users", []) for g in client.list_groups()}
        plan = plan_users(
            current,
            users,
            admins=admins,
            exclusive=p["exclusive"],
            protected=protected,
            max_deletions=p["max_deletions"],
            force_deletions=p["force_deletions"],
            allow_empty=p["allow_empty"],
            current_groups=current_groups,
            groups=groups,
        )
    except (PlanError, HubAPIError) as exc:
        module.fail_json(msg=str(exc), **result)

    result.update(
        changed=plan.changed,
        kept_protected=plan.kept_protected,
        groups=plan.group_changes,
        counts=plan.counts(),
    )
    planned = {
        "added": sorted(plan.add + plan.add_admins),
        "removed": plan.remove,
        "admins_granted": sorted(plan.grant_admin + plan.add_admins),
        "admins_revoked": plan.revoke_admin,
    }
    if module._diff:
        result["diff"] = diff_text(current, plan, admins is not None)
    if module.check_mode or not plan.changed:
        result.update(planned)
        module.exit_json(**result)

    done = {"added": [], "removed": [], "admins_granted": [], "admins_revoked": []}
    try:
        _preflight(client, plan)
        _apply(client, plan, done)
    except HubAPIError as exc:
        result.update(done)
        # The counts of what was done, as the hub confirms it, not of the plan.
        result["counts"] = {**result["counts"], "removed": len(done["removed"])}
        result["changed"] = any(done.values())
        module.fail_json(msg=f"{exc} (done before the failure: " + _summary(done) + ")", **result)
    result.update(planned)
    module.exit_json(**result)


def _summary(done):
    return ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in done.items())


if __name__ == "__main__":
    main()
