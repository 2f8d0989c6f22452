"""Unit tests of plugins/module_utils/model/operations.py and the operations filters."""

from __future__ import annotations

import datetime
import sqlite3

import pytest
from ansible_collections.daskhub.deploy.plugins.filter.operations import FilterModule
from ansible_collections.daskhub.deploy.plugins.module_utils.model import operations as ops
from support.site_models import build_model

NAMES = ["proxy_secret_token", "cookie_secret", "dask_gateway_api_token", "user_sync_api_token", "dummy_password"]


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("a,b", ["a", "b"]),
        (" a , b ,,a ", ["a", "b"]),
        (["a", "b", "a"], ["a", "b"]),
        ("", []),
        (None, []),
    ],
)
def test_parse_names(value, names):
    assert ops.parse_names(value) == names


def test_rotation_of_known_generated_secrets_is_allowed():
    assert ops.rotation_errors("dask_gateway_api_token,cookie_secret", NAMES, {"dummy_password_set": False}) == []


def test_rotation_without_names_explains_the_usage():
    (error,) = ops.rotation_errors("", NAMES, {})
    assert "-e rotate=dask_gateway_api_token" in error
    assert "proxy_secret_token" in error, "the message lists the site's secrets"


def test_rotation_rejects_unknown_and_operator_owned_names():
    errors = ops.rotation_errors(["nope", "oauth_client_secret", "dummy_password"], NAMES, {"dummy_password_set": True})
    assert errors == [
        "nope: not a secret of this site (it has: " + ", ".join(NAMES) + ")",
        "oauth_client_secret: set by the operator (inventory or Vault), change it there instead",
        "dummy_password: set by the operator (inventory or Vault), change it there instead",
    ]


def test_generated_dummy_password_may_rotate():
    assert ops.rotation_errors(["dummy_password"], NAMES, {"dummy_password_set": False}) == []


def test_rotated_service_tokens_map_secrets_to_services():
    model = build_model(daskhub_users=["alice"])
    rotated = ops.rotated_service_tokens(
        "cookie_secret,dask_gateway_api_token,user_sync_api_token,service_daskhub_verify_api_token", model
    )
    assert rotated == [
        {"secret": "dask_gateway_api_token", "service": "dask-gateway"},
        {"secret": "user_sync_api_token", "service": "user-sync"},
        {"secret": "service_daskhub_verify_api_token", "service": "daskhub-verify"},
    ]


def test_timestamp_sorts_and_is_utc():
    moment = datetime.datetime(2026, 3, 1, 12, 0, 5, tzinfo=datetime.UTC)
    assert ops.timestamp(moment) == "20260301T120005Z"


def _users_db(path):
    with sqlite3.connect(path) as db:
        db.execute("create table users (name text)")
        db.executemany("insert into users values (?)", [("alice",), ("bob",)])


def _names(path):
    with sqlite3.connect(path) as db:
        return sorted(row[0] for row in db.execute("select name from users"))


def test_sqlite_backup_is_a_private_copy_of_the_committed_data(tmp_path):
    source = tmp_path / "jupyterhub.sqlite"
    _users_db(source)
    moment = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
    path = ops.sqlite_backup(str(source), str(tmp_path / "backups"), "jupyterhub", now=moment)
    assert path == str(tmp_path / "backups/jupyterhub-20260301T120000Z.sqlite")
    assert oct((tmp_path / "backups").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "backups/jupyterhub-20260301T120000Z.sqlite").stat().st_mode & 0o777) == "0o600"
    assert _names(path) == ["alice", "bob"]
    assert not list((tmp_path / "backups").glob("*.part"))


def test_sqlite_backup_leaves_out_a_write_in_progress(tmp_path):
    # A hub in the middle of a transaction while the backup runs: the copy
    # is the last committed state, never a half-written one.
    source = tmp_path / "jupyterhub.sqlite"
    _users_db(source)
    writer = sqlite3.connect(source)
    writer.execute("begin immediate")
    writer.execute("insert into users values ('carol')")
    try:
        path = ops.sqlite_backup(str(source), str(tmp_path / "backups"), "jupyterhub")
    finally:
        writer.commit()
        writer.close()
    assert _names(path) == ["alice", "bob"]
    assert _names(source) == ["alice", "bob", "carol"]
    # The next backup has the committed write.
    later = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    assert _names(ops.sqlite_backup(str(source), str(tmp_path / "backups"), "jupyterhub", now=later)) == [
        "alice",
        "bob",
        "carol",
    ]


def test_sqlite_backup_of_a_missing_database_fails_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no database at"):
        ops.sqlite_backup(str(tmp_path / "missing.sqlite"), str(tmp_path / "backups"), "jupyterhub")
    assert not (tmp_path / "missing.sqlite").exists()


def test_release_names_in_removal_order():
    filters = FilterModule().filters()
    umbrella = build_model(daskhub_target="kubernetes", daskhub_chart_mode="daskhub")
    assert filters["daskhub_release_names"](umbrella) == ["dhub"]
    composed = build_model(daskhub_target="kubernetes", daskhub_chart_mode="composed")
    assert filters["daskhub_release_names"](composed) == ["dhub-dask-gateway", "dhub"]


def test_backup_filters_name_the_schedule_variable_and_read_accounts():
    filters = FilterModule().filters()
    assert filters["daskhub_cron_errors"]("30 2 * * *") == []
    assert filters["daskhub_cron_errors"]("every night")[0].startswith("daskhub_backup_schedule='every night'")
    assert filters["daskhub_cron_fields"]("*/15 2 * * *") == ["*/15", "2", "*", "*", "*"]
    passwd = {"alice": ["x", "1001", "1001", "", "/home/alice", "/bin/bash"]}
    assert filters["daskhub_account_entry"]("alice", passwd) == {"name": "alice", "uid": 1001}
    assert filters["daskhub_account_entry"]("gone", passwd) == {"name": "gone", "uid": None}
    assert filters["daskhub_backup_name"]("site").startswith("site-20")
