"""Planning logic of daskhub.deploy.jupyterhub_users (no hub needed)."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.users import (
    PlanError,
    deletion_limit,
    diff_text,
    normalize_names,
    normalize_username,
    plan_users,
    username_problem,
)


@pytest.mark.parametrize(
    ("raw", "lowercase", "expected"),
    [("Alice", True, "alice"), ("  Bob\t", True, "bob"), ("Carol", False, "Carol"), ("ÉVA", True, "éva")],
)
def test_normalize_username(raw, lowercase, expected):
    assert normalize_username(raw, lowercase) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "empty"), ("a/b", "'/'"), ("a b", "whitespace"), ("a\x00b", "control"), ("ok", None)],
)
def test_username_problem(name, reason):
    problem = username_problem(name)
    if reason is None:
        assert problem is None
    else:
        assert reason in problem


def test_username_pattern_must_match_in_full():
    assert username_problem("abc1", r"[a-z]+") is not None
    assert username_problem("abc", r"[a-z]+") is None


def test_normalize_names_dedupes_after_normalising_and_keeps_order():
    assert normalize_names(["Bob", "alice", "ALICE", " bob"]) == ["bob", "alice"]


def test_every_invalid_name_in_one_error():
    with pytest.raises(PlanError) as err:
        normalize_names(["ok", "a/b", "", "c d", None], label="users")
    msg = str(err.value)
    assert msg.startswith("4 invalid username(s) in users")
    for bad in ("'a/b'", "''", "'c d'", "None"):
        assert bad in msg


@pytest.mark.parametrize(
    ("value", "count", "expected"),
    [(None, 100, None), ("", 100, None), (5, 100, 5), ("5", 3, 5), ("10%", 100, 10), ("10%", 19, 1), ("0%", 50, 0)],
)
def test_deletion_limit(value, count, expected):
    assert deletion_limit(value, count) == expected


@pytest.mark.parametrize("value", ["-1", "ten", "150%", "%"])
def test_deletion_limit_rejects_nonsense(value):
    with pytest.raises(PlanError, match="max_deletions"):
        deletion_limit(value, 10)


def test_plan_add_remove_and_admin_flips():
    current = {"old": False, "keep": False, "demote": True, "promote": False}
    plan = plan_users(current, ["keep", "new", "demote", "promote"], admins=["promote", "newadmin"], exclusive=True)
    assert plan.add == ["new"]
    assert plan.add_admins == ["newadmin"]
    assert plan.remove == ["old"]
    assert plan.grant_admin == ["promote"]
    assert plan.revoke_admin == ["demote"]
    assert plan.changed
    assert plan.counts() == {
        "current": 4,
        "desired": 5,
        "added": 2,
        "removed": 1,
        "admins_granted": 2,
        "admins_revoked": 1,
        "kept_protected": 0,
    }


def test_plan_matching_hub_is_unchanged():
    plan = plan_users({"a": True, "b": False}, ["a", "b"], admins=["a"], exclusive=True)
    assert not plan.changed


def test_not_exclusive_never_deletes_and_admins_none_never_flips():
    plan = plan_users({"a": True, "b": False}, ["c"], admins=None, exclusive=False)
    assert plan.add == ["c"]
    assert plan.remove == []
    assert plan.grant_admin == plan.revoke_admin == []


def test_protected_users_are_neither_deleted_nor_demoted():
    plan = plan_users({"root": True, "x": False}, ["y"], admins=[], exclusive=True, protected=["root"])
    assert plan.remove == ["x"]
    assert plan.kept_protected == ["root"]
    assert plan.revoke_admin == []


def test_deletion_threshold_and_force():
    current = {f"u{i}": False for i in range(20)}
    with pytest.raises(PlanError, match=r"18 user\(s\) would be deleted, more than max_deletions=10%"):
        plan_users(current, ["u0", "u1"], exclusive=True, max_deletions="10%")
    plan = plan_users(current, ["u0", "u1"], exclusive=True, max_deletions="10%", force_deletions=True)
    assert len(plan.remove) == 18
    assert plan_users(current, [f"u{i}" for i in range(18)], exclusive=True, max_deletions="10%").remove == [
        "u18",
        "u19",
    ]


def test_empty_desired_fails_closed_unless_allowed():
    with pytest.raises(PlanError, match=r"desired user list is empty while the hub has 2 user\(s\)"):
        plan_users({"a": False, "b": False}, [], exclusive=True)
    with pytest.raises(PlanError, match="empty"):
        plan_users({"a": True}, [], admins=[], exclusive=False)
    assert plan_users({"a": False}, [], exclusive=True, allow_empty=True).remove == ["a"]
    # Adding only (not exclusive, admins unmanaged) cannot hurt anyone.
    assert not plan_users({"a": False}, [], exclusive=False).changed
    # Only protected users on the hub: nothing to lose.
    assert not plan_users({"root": True}, [], exclusive=True, protected=["root"]).changed


def test_groups_plan_and_unknown_members():
    plan = plan_users(
        {"a": False, "b": False, "c": False},
        ["a", "b", "c"],
        current_groups={"g1": ["a", "c"]},
        groups={"g1": ["a", "b"], "g2": ["c"]},
    )
    assert plan.group_changes == {
        "g1": {"create": False, "add": ["b"], "remove": ["c"]},
        "g2": {"create": True, "add": ["c"], "remove": []},
    }
    with pytest.raises(PlanError, match="not hub users after this sync: zed"):
        plan_users({"a": False}, ["a"], groups={"g": ["a", "zed"]})


def test_diff_text_marks_admins_and_shows_after_state():
    current = {"old": False, "boss": True}
    plan = plan_users(current, ["new", "boss"], admins=["new"], exclusive=True, protected=["boss"])
    diff = diff_text(current, plan, manage_admins=True)
    assert diff["before"] == "boss (admin)\nold\n"
    assert diff["after"] == "boss (admin)\nnew (admin)\n"
