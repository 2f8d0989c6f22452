# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Pure planning logic of the jupyterhub_users module: no I/O.

Given what the hub has and what the site wants, compute the users to add,
the users to remove and the admin flags to flip, and refuse plans that look
like an accident (an empty desired list, too many deletions) before anything
changes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


class PlanError(Exception):
    """The inputs or the plan are refused; nothing may be changed."""


def normalize_username(name, lowercase=True):
    """Normalise a name like JupyterHub's Authenticator.normalize_username.

    JupyterHub lowercases by default; we also strip the surrounding
    whitespace that CSV exports and LDAP attributes tend to carry.
    """
    name = str(name).strip()
    return name.lower() if lowercase else name


# Plain names take the fast path; anything else gets the exact checks.
_PLAIN = re.compile(r"[A-Za-z0-9._@+-]+")


def username_problem(name, pattern=None):
    """Why JupyterHub (or a sane site) would refuse ``name``, or None."""
    if not name:
        return "empty"
    if not _PLAIN.fullmatch(name):
        if "/" in name:
            # The name becomes a URL path segment (/user/<name>/).
            return "contains '/'"
        if any(unicodedata.category(ch).startswith("C") for ch in name):
            return "contains a control character"
        if any(ch.isspace() for ch in name):
            # Valid for the hub, but almost always a broken export ("a b").
            return "contains whitespace"
    if pattern and not re.fullmatch(pattern, name):
        return f"does not match username_pattern {pattern!r}"
    return None


def normalize_names(names, lowercase=True, pattern=None, label="users"):
    """Normalised, deduplicated names in first-seen order.

    Raises PlanError listing every invalid name at once, so one run shows
    the whole clean-up list.
    """
    out, seen, bad = [], set(), []
    for raw in names or []:
        if raw is None:
            bad.append(f"{raw!r} (empty)")
            continue
        name = normalize_username(raw, lowercase)
        problem = username_problem(name, pattern)
        if problem:
            bad.append(f"{raw!r} ({problem})")
            continue
        if name not in seen:
            seen.add(name)
            out.append(name)
    if bad:
        raise PlanError(f"{len(bad)} invalid username(s) in {label}, nothing was changed: " + ", ".join(bad))
    return out


def deletion_limit(max_deletions, current_count):
    """The number of deletions allowed; None means no limit.

    ``max_deletions`` is a count (10, "10") or a percentage of the users the
    hub has now ("10%", rounded down).
    """
    if max_deletions is None or str(max_deletions).strip() == "":
        return None
    text = str(max_deletions).strip()
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if pct < 0 or pct > 100:
                raise ValueError
            return int(current_count * pct // 100)
        value = int(text)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise PlanError(
            f"max_deletions must be a count (e.g. 25) or a percentage (e.g. '10%'), not {max_deletions!r}"
        ) from None


@dataclass
class Plan:
    """What to do to the hub, each list sorted."""

    add: list = field(default_factory=list)
    add_admins: list = field(default_factory=list)
    remove: list = field(default_factory=list)
    grant_admin: list = field(default_factory=list)
    revoke_admin: list = field(default_factory=list)
    kept_protected: list = field(default_factory=list)
    group_changes: dict = field(default_factory=dict)
    current_count: int = 0
    desired_count: int = 0
    deletion_limit: int | None = None

    @property
    def changed(self):
        return bool(
            self.add
            or self.add_admins
            or self.remove
            or self.grant_admin
            or self.revoke_admin
            or any(g["create"] or g["add"] or g["remove"] for g in self.group_changes.values())
        )

    def counts(self):
        return {
            "current": self.current_count,
            "desired": self.desired_count,
            "added": len(self.add) + len(self.add_admins),
            "removed": len(self.remove),
            "admins_granted": len(self.grant_admin) + len(self.add_admins),
            "admins_revoked": len(self.revoke_admin),
            "kept_protected": len(self.kept_protected),
        }


def plan_users(
    current,
    users,
    admins=None,
    exclusive=True,
    protected=(),
    max_deletions=None,
    force_deletions=False,
    allow_empty=False,
    current_groups=None,
    groups=None,
):
    """Compute the Plan.

    ``current``: {name: is_admin} as the hub reports it.
    ``users``/``admins``: normalised desired names; admins are users too.
    ``admins`` None means admin flags are not managed at all.
    ``protected``: never deleted and never demoted.
    ``current_groups``/``groups``: {group: [members]}, current and desired;
    only the groups named in ``groups`` are managed.
    """
    manage_admins = admins is not None
    desired_admins = set(admins or ())
    desired = set(users) | desired_admins
    protected = set(protected)
    plan = Plan(current_count=len(current), desired_count=len(desired))

    unprotected_on_hub = [n for n in current if n not in protected]
    if not desired and unprotected_on_hub and (exclusive or manage_admins) and not allow_empty:
        raise PlanError(
            f"the desired user list is empty while the hub has {len(current)} user(s); refusing to "
            "touch them (an empty or unreadable source is far more likely than an intended wipe). "
            "Nothing was changed. Set allow_empty: true to really empty the hub."
        )

    for name in sorted(desired - set(current)):
        if manage_admins and name in desired_admins:
            plan.add_admins.append(name)
        else:
            plan.add.append(name)

    if exclusive:
        for name in sorted(set(current) - desired):
            if name in protected:
                plan.kept_protected.append(name)
            else:
                plan.remove.append(name)

    if manage_admins:
        removing = set(plan.remove)
        for name, is_admin in sorted(current.items()):
            if name in removing:
                continue
            if name in desired_admins and not is_admin:
                plan.grant_admin.append(name)
            elif is_admin and name not in desired_admins and name not in protected:
                plan.revoke_admin.append(name)

    plan.deletion_limit = deletion_limit(max_deletions, len(current))
    if plan.deletion_limit is not None and len(plan.remove) > plan.deletion_limit and not force_deletions:
        sample = ", ".join(plan.remove[:10]) + (" ..." if len(plan.remove) > 10 else "")
        raise PlanError(
            f"{len(plan.remove)} user(s) would be deleted, more than max_deletions={max_deletions} "
            f"allows ({plan.deletion_limit} of the hub's {len(current)} users). Nothing was changed. "
            f"Check the sources; if the deletions are intended, run once with force_deletions: true. "
            f"First to delete: {sample}"
        )

    if groups:
        remaining = (set(current) - set(plan.remove)) | desired
        current_groups = current_groups or {}
        for group, members in sorted(groups.items()):
            want = set(members)
            unknown = sorted(want - remaining)
            if unknown:
                raise PlanError(
                    f"group {group!r} lists member(s) that are not hub users after this sync: "
                    + ", ".join(unknown)
                    + ". Nothing was changed."
                )
            have = set(current_groups.get(group, ()))
            plan.group_changes[group] = {
                "create": group not in current_groups,
                "add": sorted(want - have),
                "remove": sorted((have - want) & remaining),
            }
    return plan


def diff_text(current, plan, manage_admins):
    """Before/after texts for Ansible's --diff: one line per user."""

    def line(name, is_admin):
        return f"{name} (admin)\n" if manage_admins and is_admin else f"{name}\n"

    before = "".join(line(n, a) for n, a in sorted(current.items()))
    after_state = dict(current)
    for name in plan.remove:
        after_state.pop(name, None)
    for name in plan.add:
        after_state[name] = False
    for name in plan.add_admins:
        after_state[name] = True
    for name in plan.grant_admin:
        after_state[name] = True
    for name in plan.revoke_admin:
        after_state[name] = False
    after = "".join(line(n, a) for n, a in sorted(after_state.items()))
    return {"before_header": "hub users", "after_header": "hub users", "before": before, "after": after}
