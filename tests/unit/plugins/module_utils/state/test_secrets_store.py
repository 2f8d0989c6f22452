"""Unit tests of the secrets store (plugins/module_utils/state/secrets_store.py).

Format, idempotence, rotation, modes, provided values, check mode, no leaks;
the file under stress (vault, damage, locks) is in test_secrets_store_disk.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_file import (
    generate_secret,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_store import (
    EnsureResult,
    SecretsStore,
)
from support import secret_stores
from support.secret_stores import NAMES, mode, stored, umask

HEX64 = re.compile(r"^[0-9a-f]{64}$")
# The fixture: a store path in the test's temp dir.
store_path_fixture = secret_stores.store_path_fixture


# --- format ------------------------------------------------------------------


def test_generate_secret_is_64_hex_chars_and_never_repeats():
    values = [generate_secret() for _ in range(1000)]
    assert all(HEX64.match(value) for value in values)
    assert len(set(values)) == len(values)


def test_ensure_generates_distinct_hex_secrets_and_stores_them(store_path):
    values, created, rotated, changed = SecretsStore(store_path).ensure(NAMES)

    assert list(values) == NAMES
    assert all(HEX64.match(value) for value in values.values())
    assert len(set(values.values())) == len(NAMES)
    assert created == NAMES
    assert rotated == []
    assert changed is True
    assert stored(store_path) == values
    # The file is plain YAML a human can read and edit.
    assert yaml.safe_load(store_path.read_text()) == values


def test_stored_values_that_look_like_numbers_stay_strings(store_path):
    store = SecretsStore(store_path)
    awkward = {"a": "0123", "b": "1e5", "c": "true", "d": "null", "e": "0x1F"}
    store.ensure(list(awkward), authoritative=awkward)
    assert stored(store_path) == awkward


# --- idempotence ---------------------------------------------------------------


def test_second_ensure_changes_nothing(store_path):
    store = SecretsStore(store_path)
    first = store.ensure(NAMES)
    before = store_path.read_bytes()
    inode = store_path.stat().st_ino

    second = store.ensure(NAMES)

    assert second.values == first.values
    assert (second.created, second.rotated, second.changed) == ([], [], False)
    assert store_path.read_bytes() == before
    # Not even rewritten with the same content.
    assert store_path.stat().st_ino == inode


def test_new_names_are_added_without_touching_existing_ones(store_path):
    store = SecretsStore(store_path)
    first = store.ensure(NAMES[:2])

    second = store.ensure(NAMES)

    assert second.created == [NAMES[2]]
    assert second.changed is True
    assert {name: second.values[name] for name in NAMES[:2]} == first.values
    assert stored(store_path) == second.values


def test_names_already_in_the_store_are_never_deleted(store_path):
    store_path.parent.mkdir()
    store_path.write_text("legacy_token: kept-by-hand\n")

    values, *_ = SecretsStore(store_path).ensure(["cookie_secret"])

    assert "legacy_token" not in values
    assert stored(store_path) == {"legacy_token": "kept-by-hand", "cookie_secret": values["cookie_secret"]}


def test_an_empty_stored_value_is_regenerated(store_path):
    store_path.parent.mkdir()
    store_path.write_text("cookie_secret: ''\n")

    result = SecretsStore(store_path).ensure(["cookie_secret"])

    assert result.created == ["cookie_secret"]
    assert HEX64.match(stored(store_path)["cookie_secret"])


# --- rotation --------------------------------------------------------------------


def test_rotation_changes_only_the_named_secrets(store_path):
    store = SecretsStore(store_path)
    first = store.ensure(NAMES)

    values, created, rotated, changed = store.ensure(NAMES, rotate=["cookie_secret"])

    assert (created, rotated, changed) == ([], ["cookie_secret"], True)
    assert HEX64.match(values["cookie_secret"])
    assert values["cookie_secret"] != first.values["cookie_secret"]
    assert {k: v for k, v in values.items() if k != "cookie_secret"} == {
        k: v for k, v in first.values.items() if k != "cookie_secret"
    }
    assert stored(store_path) == values


def test_rotating_a_missing_secret_reports_it_created(store_path):
    result = SecretsStore(store_path).ensure(["a"], rotate=["a"])
    assert (result.created, result.rotated) == (["a"], [])


def test_rotating_a_name_not_asked_for_is_an_error_and_writes_nothing(store_path):
    with pytest.raises(ValueError, match="rotate lists names that are not in names: typo"):
        SecretsStore(store_path).ensure(NAMES, rotate=["typo"])
    assert not store_path.parent.exists()


def test_rotating_an_operator_provided_secret_is_an_error(store_path):
    with pytest.raises(ValueError, match="cannot rotate oauth_client_secret"):
        SecretsStore(store_path).ensure(
            ["oauth_client_secret"], rotate=["oauth_client_secret"], provided={"oauth_client_secret": "x"}
        )


@pytest.mark.parametrize("bad", ["", "has space", "slash/name", "colon:name", 7, None])
def test_invalid_names_are_rejected(store_path, bad):
    with pytest.raises(ValueError, match="invalid secret name"):
        SecretsStore(store_path).ensure(["ok", bad])
    assert not store_path.parent.exists()


# --- file mode -----------------------------------------------------------------------


def test_store_is_0600_and_its_new_directory_0700_even_with_umask_000(tmp_path):
    path = tmp_path / "new" / "state" / "secrets.yml"
    with umask(0):
        store = SecretsStore(path)
        store.ensure(NAMES)
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        assert mode(path.parent.parent) == 0o700
        assert mode(Path(store.lock_path)) == 0o600

        store.ensure(NAMES, rotate=[NAMES[0]])
        assert mode(path) == 0o600


def test_a_loose_mode_is_tightened_and_reported(store_path):
    store = SecretsStore(store_path)
    store.ensure(NAMES)
    content = store_path.read_bytes()
    store_path.chmod(0o644)

    result = store.ensure(NAMES)

    assert result.changed is True
    assert result.file_changes == ["mode 0644 -> 0600"]
    assert mode(store_path) == 0o600
    assert store_path.read_bytes() == content
    assert store.ensure(NAMES).changed is False


def test_no_temporary_files_are_left_behind(store_path):
    store = SecretsStore(store_path)
    store.ensure(NAMES)
    store.ensure(NAMES, rotate=NAMES)
    assert sorted(p.name for p in store_path.parent.iterdir()) == ["secrets.yml", "secrets.yml.lock"]


def test_a_symlinked_store_is_updated_through_the_link(tmp_path):
    target = tmp_path / "private" / "secrets.yml"
    target.parent.mkdir()
    target.write_text("a: kept\n")
    link = tmp_path / "secrets.yml"
    link.symlink_to(target)

    SecretsStore(link).ensure(["a", "b"])

    assert link.is_symlink()
    assert set(stored(target)) == {"a", "b"}


# --- provided and authoritative values -----------------------------------------------


def test_provided_values_are_returned_but_never_written(store_path):
    operator_value = "operator-oauth-client-secret-value"

    result = SecretsStore(store_path).ensure(
        ["cookie_secret", "oauth_client_secret"], provided={"oauth_client_secret": operator_value}
    )

    assert result.values["oauth_client_secret"] == operator_value
    assert result.created == ["cookie_secret"]
    assert operator_value not in store_path.read_text()
    assert set(stored(store_path)) == {"cookie_secret"}


def test_an_empty_provided_value_falls_back_to_a_stored_secret(store_path):
    store = SecretsStore(store_path)
    first = store.ensure(["dummy_password"], provided={"dummy_password": ""})

    assert first.created == ["dummy_password"]
    assert HEX64.match(first.values["dummy_password"])
    assert stored(store_path) == first.values
    assert store.ensure(["dummy_password"], provided={"dummy_password": None}).values == first.values


def test_a_provided_value_does_not_replace_the_stored_one(store_path):
    store = SecretsStore(store_path)
    generated = store.ensure(["dummy_password"]).values["dummy_password"]

    result = store.ensure(["dummy_password"], provided={"dummy_password": "chosen"})

    assert result.values == {"dummy_password": "chosen"}
    assert result.changed is False
    # Unsetting the operator's value later brings the old secret back.
    assert stored(store_path) == {"dummy_password": generated}


def test_provided_values_must_be_strings(store_path):
    with pytest.raises(ValueError, match=r"provided\['a'\] must be a string, not int"):
        SecretsStore(store_path).ensure(["a"], provided={"a": 12345})


def test_authoritative_values_win_and_are_persisted(store_path):
    store = SecretsStore(store_path)
    first = store.ensure(NAMES)
    cluster = {"proxy_secret_token": "value-from-the-cluster"}

    result = store.ensure(NAMES, authoritative=cluster)

    assert result.values["proxy_secret_token"] == "value-from-the-cluster"
    assert result.synced == ["proxy_secret_token"]
    assert (result.created, result.rotated, result.changed) == ([], [], True)
    assert stored(store_path) == {**first.values, **cluster}
    # Once the file agrees with the cluster, nothing changes.
    again = store.ensure(NAMES, authoritative=cluster)
    assert (again.changed, again.values) == (False, result.values)


def test_authoritative_values_fill_a_missing_store(store_path):
    result = SecretsStore(store_path).ensure(["a", "b"], authoritative={"a": "from-cluster", "zzz": "ignored"})
    assert result.synced == ["a"]
    assert result.created == ["b"]
    assert stored(store_path) == {"a": "from-cluster", "b": result.values["b"]}


def test_rotation_wins_over_authoritative(store_path):
    store = SecretsStore(store_path)
    store.ensure(["a"])
    result = store.ensure(["a"], rotate=["a"], authoritative={"a": "from-cluster"})
    assert result.rotated == ["a"]
    assert HEX64.match(result.values["a"])


# --- check mode -------------------------------------------------------------------


def test_check_mode_writes_nothing_but_returns_usable_values(store_path):
    result = SecretsStore(store_path).ensure(NAMES, check_mode=True)

    assert result.changed is True
    assert result.created == NAMES
    assert all(HEX64.match(value) for value in result.values.values())
    assert not store_path.parent.exists()


def test_check_mode_on_an_existing_store(store_path):
    store = SecretsStore(store_path)
    first = store.ensure(NAMES)
    content = store_path.read_bytes()

    unchanged = store.ensure(NAMES, check_mode=True)
    rotation = store.ensure(NAMES, rotate=[NAMES[0]], check_mode=True)

    assert (unchanged.changed, unchanged.values) == (False, first.values)
    assert rotation.changed is True
    assert rotation.rotated == [NAMES[0]]
    assert rotation.values[NAMES[0]] != first.values[NAMES[0]]
    assert store_path.read_bytes() == content


# --- no value leaks through results, diffs or errors --------------------------------


def test_diff_and_repr_name_secrets_but_never_show_values(store_path):
    store = SecretsStore(store_path)
    first = store.ensure(NAMES[:2])
    result = store.ensure(NAMES, rotate=[NAMES[0]])

    diff = result.diff(str(store_path))
    text = diff["before"] + diff["after"] + repr(result)

    assert f"{NAMES[0]}: <rotated>" in diff["after"]
    assert f"{NAMES[2]}: <created>" in diff["after"]
    assert f"{NAMES[1]}: <hidden>" in diff["after"]
    assert NAMES[2] not in diff["before"]
    for value in [*first.values.values(), *result.values.values()]:
        assert value not in text


def test_ensure_result_unpacks_as_four_values(store_path):
    result = SecretsStore(store_path).ensure(["a"])
    assert isinstance(result, EnsureResult)
    assert list(result) == [result.values, result.created, result.rotated, result.changed]
