"""An empty, truncated or partial secrets store stops the run; only a missing one is created.

Regenerating such a store would hand the running site new secrets (and
restart it), while the old service tokens stay valid on the hub.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_file import FILE_HEADER, STORE_END
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_store import SecretsStore, SecretsStoreError

NAMES = ["cookie_secret", "dask_gateway_api_token", "proxy_secret_token", "user_sync_api_token"]


@pytest.fixture
def full_store(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "secrets.yml"
    SecretsStore(path).ensure(NAMES)
    return path


def assert_stops_untouched(path: Path, *expected: str) -> str:
    content = path.read_bytes()
    for check_mode in (True, False):
        with pytest.raises(SecretsStoreError) as error:
            SecretsStore(path).ensure(NAMES, check_mode=check_mode)
        message = str(error.value)
        assert str(path) in message
        assert "Restore it from your backup" in message
        for text in expected:
            assert text in message
    assert path.read_bytes() == content
    return message


def test_a_written_store_ends_with_its_names(full_store):
    last = full_store.read_text().splitlines()[-1]
    assert last == STORE_END + " ".join(NAMES)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"   "], ids=["0 bytes", "newlines", "spaces"])
def test_an_empty_store_stops_and_is_left_untouched(full_store, content):
    full_store.write_bytes(content)
    assert_stops_untouched(full_store, "is empty")


def test_a_store_holding_only_its_header_stops(full_store):
    full_store.write_text(FILE_HEADER)
    assert_stops_untouched(full_store, "holds no secrets")


def test_a_store_cut_at_a_line_end_stops(full_store):
    lines = full_store.read_text().splitlines(keepends=True)
    # Loses the last secret and the end line.
    full_store.write_text("".join(lines[:-2]))
    assert_stops_untouched(full_store, "lacks user_sync_api_token", "may be truncated")


def test_a_store_cut_inside_a_value_stops(full_store):
    text = full_store.read_text()
    full_store.write_text(text[: text.rindex(STORE_END) - 10])
    assert_stops_untouched(full_store, "ends in the middle of a line")


def test_a_store_missing_a_name_its_end_line_lists_stops(full_store):
    lines = full_store.read_text().splitlines(keepends=True)
    full_store.write_text("".join(line for line in lines if not line.startswith("cookie_secret:")))
    assert_stops_untouched(full_store, "is partial: it lacks cookie_secret")


def test_a_missing_store_is_created(tmp_path):
    path = tmp_path / "secrets.yml"
    result = SecretsStore(path).ensure(NAMES)
    assert result.created == NAMES
    assert SecretsStore(path).read() == result.values


def test_a_new_name_is_still_added_to_a_complete_store(full_store):
    result = SecretsStore(full_store).ensure([*NAMES, "verify_api_token"])
    assert result.created == ["verify_api_token"]
    assert full_store.read_text().splitlines()[-1].endswith("user_sync_api_token verify_api_token")


def test_a_store_from_before_the_end_line_is_sealed_once(full_store):
    text = full_store.read_text()
    full_store.write_text(text[: text.rindex(STORE_END)])
    values = SecretsStore(full_store).read()

    first = SecretsStore(full_store).ensure(NAMES)
    second = SecretsStore(full_store).ensure(NAMES)

    assert first.values == values
    assert first.created == []
    assert first.file_changes == ["record its names in its last line"]
    assert second.changed is False


def test_an_unsealed_store_lacking_a_name_stops_unless_the_operator_asks_for_it(full_store):
    text = full_store.read_text()
    full_store.write_text(text[: text.rindex(STORE_END)])
    names = [*NAMES, "verify_api_token"]
    with pytest.raises(SecretsStoreError, match="lacks verify_api_token"):
        SecretsStore(full_store).ensure(names)

    # What the message says to do for a secret that is new to the site.
    with full_store.open("a") as handle:
        handle.write("verify_api_token: ''\n")
    assert SecretsStore(full_store).ensure(names).created == ["verify_api_token"]


def test_a_hand_written_store_gets_its_missing_secrets(tmp_path):
    path = tmp_path / "secrets.yml"
    path.write_text("cookie_secret: set-by-hand\n")
    result = SecretsStore(path).ensure(NAMES)
    assert result.values["cookie_secret"] == "set-by-hand"
    assert sorted(result.created) == NAMES[1:]
