# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""One run of the jupyterhub_users module: read the hub, plan (hub/users.py), check the token, apply.

``sync_users(params, check_mode, diff)`` takes the module's parameters and
returns ``(result, failure)``: the module's return values and, when the run
failed, the message (the result then says what was done before the failure).
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import ADMIN_ROLE_HINT, HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import (
    TOKEN_NAMES,
    hub_client,
    request_options,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.users import (
    PlanError,
    diff_text,
    normalize_names,
    plan_users,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import result_or_failure

# What was done, for the report of a run that failed half-way.
DONE_KEYS = ("added", "removed", "admins_granted", "admins_revoked")

# The jupyterhub_users module's own options (documented there), beside the hub connection's.
SYNC_SPEC = {
    "users": {"type": "list", "elements": "str", "default": []},
    "admins": {"type": "list", "elements": "str"},
    "exclusive": {"type": "bool", "default": False},
    "protected_users": {"type": "list", "elements": "str", "default": []},
    "protected_groups": {"type": "list", "elements": "str", "default": []},
    "max_deletions": {"type": "str"},
    "force_deletions": {"type": "bool", "default": False},
    "allow_empty": {"type": "bool", "default": False},
    "groups": {"type": "dict"},
    "lowercase": {"type": "bool", "default": True},
    "username_pattern": {"type": "str"},
}


def normalized_inputs(p):
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


def invocation(p):
    """A short echo of the arguments: with thousands of users the full echo
    costs the controller seconds; the token is never part of it."""
    left_out = (*TOKEN_NAMES, "users", "admins", "protected_users", "groups")
    summary = {k: v for k, v in p.items() if k not in left_out}
    summary["users"] = f"<{len(p['users'] or [])} names>"
    summary["admins"] = None if p["admins"] is None else f"<{len(p['admins'])} names>"
    summary["protected_users"] = p["protected_users"]
    summary["groups"] = sorted(p["groups"] or {})
    return {"module_args": summary}


def preflight(client, plan):
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


def apply(client, plan, done):
    """Make the changes; ``done`` records progress for a partial-failure report."""
    if plan.add:
        client.create_users(plan.add)
        done["added"].extend(plan.add)
    if plan.add_admins:
        client.create_users(plan.add_admins, admin=True)
        done["added"].extend(plan.add_admins)
    flags = {n: True for n in plan.grant_admin}
    flags.update({n: False for n in plan.revoke_admin})
    _unused, errors = client.set_admins(flags)
    done["admins_granted"].extend(n for n in plan.grant_admin if n not in errors)
    done["admins_revoked"].extend(n for n in plan.revoke_admin if n not in errors)
    if errors:
        raise first_error(errors, "admin flag change")
    _unused, errors = client.delete_users(plan.remove)
    if plan.remove:
        # What the hub confirms, not what the answers suggested: a deletion
        # may have landed although its answer was lost in a restart.
        still_there = still_on_the_hub(client, plan.remove, errors)
        done["removed"].extend(n for n in plan.remove if n not in still_there)
        failed = {n: errors.get(n) or HubAPIError("the hub still has this user") for n in sorted(still_there)}
        if failed:
            raise first_error(failed, "deletion")
    for group, change in plan.group_changes.items():
        if change["create"]:
            client.create_group(group)
        if change["add"]:
            client.add_group_members(group, change["add"])
        if change["remove"]:
            client.remove_group_members(group, change["remove"])


def still_on_the_hub(client, names, errors):
    """The names of ``names`` the hub still has; when it can't be asked, those whose DELETE failed."""
    try:
        current = {user["name"] for user in client.list_users()}
    except HubAPIError:
        return set(errors)
    return {name for name in names if name in current}


def first_error(errors, what):
    """One HubAPIError for many ({name: HubAPIError}): how many failed, and the first by name."""
    name, exc = sorted(errors.items())[0]
    return HubAPIError(f"{len(errors)} {what}(s) failed, first for {name!r}: {exc}", status=exc.status)


def done_summary(done):
    """'1 added, 0 removed, ...' for the message of a run that failed half-way."""
    return ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in done.items())


def sync_users(p, check_mode=False, diff=False):
    """The whole run of the jupyterhub_users module; returns (result, failure message or None)."""
    result = {
        "invocation": invocation(p),
        "changed": False,
        **{key: [] for key in DONE_KEYS},
        "kept_protected": [],
        "groups": {},
        "counts": {},
        "hub_version": "",
    }
    try:
        users, admins, protected, groups = normalized_inputs(p)
        client = hub_client(p, **request_options(p))
        result["hub_version"] = str((client.info() or {}).get("version", ""))
        current = {u["name"]: bool(u.get("admin")) for u in client.list_users()}
        current_groups = None
        if groups or p.get("protected_groups"):
            current_groups = {g["name"]: g.get("users", []) for g in client.list_groups()}
        # The identity provider's groups: their members logged in by group, no source lists them.
        for group in p.get("protected_groups") or ():
            protected = sorted(set(protected) | set((current_groups or {}).get(group) or ()))
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
        return result, str(exc)

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
    if diff:
        result["diff"] = diff_text(current, plan, admins is not None)
    if check_mode or not plan.changed:
        result.update(planned)
        return result, None

    done = {key: [] for key in DONE_KEYS}
    try:
        preflight(client, plan)
        apply(client, plan, done)
    except HubAPIError as exc:
        result.update(done)
        # The counts of what was done, as the hub confirms it, not of the plan.
        result["counts"] = {**result["counts"], "removed": len(done["removed"])}
        result["changed"] = any(done.values())
        return result, f"{exc} (done before the failure: " + done_summary(done) + ")"
    result.update(planned)
    return result, None


def run(module) -> dict:
    """The jupyterhub_users module's work (``module_run.ModuleWork``): a failure raises with the result so far."""
    return result_or_failure(sync_users(module.params, check_mode=module.check_mode, diff=module._diff))


def run_list(module) -> dict:
    """The jupyterhub_user_list module's work: the hub's users and admins, sorted."""
    users = hub_client(module.params, timeout=module.params["timeout"]).list_users()
    return {
        "changed": False,
        "users": sorted(user["name"] for user in users),
        "admins": sorted(user["name"] for user in users if user.get("admin")),
    }
