"""Desired-user sources: parsing and fail-closed rules (files and structures).

HTTP and LDAP sources are tested against a real HTTP server and a real slapd
in tests/integration/test_user_sync_hub.py.
"""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.user_sources import (
    SourceError,
    desired_users,
    from_structure,
    parse_csv,
    read_source,
    read_sources,
)


def test_csv_with_header_and_admin_column():
    text = "# exported 2024-01-01\nemail,Username,admin\na@x,alice,yes\nb@x,bob,\n\nc@x,carol,TRUE\n"
    assert parse_csv(text, "f.csv") == (["alice", "bob", "carol"], ["alice", "carol"])


def test_csv_without_header_uses_first_columns():
    assert parse_csv("alice\nbob,1\n", "f.csv") == (["alice", "bob"], ["bob"])


def test_csv_row_without_name_column_is_an_error():
    with pytest.raises(SourceError, match="row 3 has no username column"):
        parse_csv("email,username\na@x,alice\nb@x\n", "f.csv")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["alice", "bob"], (["alice", "bob"], [])),
        ([{"name": "alice", "admin": True}, {"username": "bob"}], (["alice", "bob"], ["alice"])),
        ({"users": ["bob"], "admins": ["alice"]}, (["bob"], ["alice"])),
        (None, ([], [])),
    ],
)
def test_structures(data, expected):
    assert from_structure(data, "x") == expected


@pytest.mark.parametrize("data", ["alice", {"people": []}, [{"email": "a@x"}], [["nested"]], {"users": "alice"}])
def test_bad_structures_are_errors(data):
    with pytest.raises(SourceError):
        from_structure(data, "x")


def test_yaml_file_and_missing_file(tmp_path):
    f = tmp_path / "users.yml"
    f.write_text("users: [alice]\nadmins: [root]\n")
    result = read_source({"type": "file", "path": str(f)})
    assert (result.users, result.admins) == (["alice"], ["root"])
    with pytest.raises(SourceError, match="cannot read the user file"):
        read_source({"type": "file", "path": str(tmp_path / "nope.yml")})


def test_broken_yaml_is_an_error(tmp_path):
    f = tmp_path / "users.yml"
    f.write_text("users: [alice\n")
    with pytest.raises(SourceError, match="cannot parse"):
        read_source({"type": "file", "path": str(f)})


def test_empty_external_source_fails_unless_allowed(tmp_path):
    f = tmp_path / "users.csv"
    f.write_text("username\n")
    with pytest.raises(SourceError, match="returned no users"):
        read_source({"type": "file", "path": str(f)})
    assert read_source({"type": "file", "path": str(f), "allow_empty": True}).users == []
    # A static inventory list may be empty.
    assert read_source({"type": "list", "users": [], "admins": []}).users == []


def test_read_sources_reports_every_failure_and_merges(tmp_path):
    good = tmp_path / "a.csv"
    good.write_text("alice\n")
    with pytest.raises(SourceError) as err:
        read_sources(
            [
                {"type": "file", "path": str(tmp_path / "x.yml")},
                {"type": "file", "path": str(good)},
                {"type": "file", "path": str(tmp_path / "y.csv")},
            ]
        )
    assert str(err.value).count("cannot read the user file") == 2
    users, admins, results = read_sources(
        [{"type": "list", "users": ["bob"], "admins": ["root"]}, {"type": "file", "path": str(good)}]
    )
    assert (users, admins) == (["bob", "alice"], ["root"])
    assert [r.summary()["users"] for r in results] == [1, 1]


def test_http_source_rejects_other_schemes():
    with pytest.raises(SourceError, match="only http and https"):
        read_source({"type": "http", "url": "file:///etc/passwd"})


def test_unknown_type():
    with pytest.raises(SourceError, match="unknown source type"):
        read_source({"type": "ftp"})


def _module_source(**given):
    """One ``sources[]`` entry as the module hands it over: every option present, unset ones None."""
    return {**dict.fromkeys(("name", "allow_empty", "users", "admins", "path")), **given}


def test_desired_users_is_the_union_and_an_unset_allow_empty_takes_the_types_default(tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text("username,admin\ncarol,no\nalice,yes\n")
    result = desired_users(
        [
            _module_source(type="list", name="inventory", users=["bob", "alice"], admins=["root"]),
            _module_source(type="file", path=str(extra)),
        ]
    )
    assert result == {
        "changed": False,
        "users": ["alice", "bob", "carol", "root"],
        "admins": ["alice", "root"],
        "sources": [
            {"name": "inventory", "type": "list", "users": 2, "admins": 1},
            {"name": "file", "type": "file", "users": 2, "admins": 1},
        ],
    }
    # allow_empty None is the type's default: a list may be empty, a file may not.
    assert desired_users([_module_source(type="list", users=[])])["users"] == []
    empty = tmp_path / "empty.csv"
    empty.write_text("username\n")
    with pytest.raises(SourceError, match=r"returned no users.*No users were returned, so a sync"):
        desired_users([_module_source(type="file", path=str(empty))])


def test_desired_users_refuses_no_sources():
    with pytest.raises(SourceError, match="no user sources were given"):
        desired_users([])
