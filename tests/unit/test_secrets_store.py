"""Unit tests of the secrets store (plugins/module_utils/state/secrets_store.py)."""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import pwd
import re
import shutil
import stat
import tempfile
import traceback
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_file import (
    generate_secret,
    vault_from_password,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_store import (
    EnsureResult,
    SecretsStore,
    SecretsStoreError,
)

HEX64 = re.compile(r"^[0-9a-f]{64}$")
NAMES = ["proxy_secret_token", "cookie_secret", "dask_gateway_api_token"]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "secrets.yml"


def stored(path: Path, vault=None) -> dict[str, str]:
    return SecretsStore(path, vault=vault).read()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


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


# --- vault -------------------------------------------------------------------------------


def vault(password: bytes = b"correct horse", vault_id: str = "default") -> VaultLib:
    return VaultLib(secrets=[(vault_id, VaultSecret(password))])


def test_vault_encrypted_store_round_trip(store_path):
    first = SecretsStore(store_path, vault=vault(), encrypt=True).ensure(NAMES)
    raw = store_path.read_bytes()

    assert raw.startswith(b"$ANSIBLE_VAULT;1.1;AES256\n")
    for name, value in first.values.items():
        assert value.encode() not in raw
        assert name.encode() not in raw
    assert mode(store_path) == 0o600
    assert yaml.safe_load(vault().decrypt(raw)) == first.values

    # Without encrypt=True an encrypted store is still read and written
    # back encrypted.
    store = SecretsStore(store_path, vault=vault())
    again = store.ensure(NAMES)
    assert (again.values, again.changed) == (first.values, False)
    assert store_path.read_bytes() == raw

    rotated = store.ensure(NAMES, rotate=[NAMES[1]])
    raw = store_path.read_bytes()
    assert raw.startswith(b"$ANSIBLE_VAULT")
    assert rotated.values[NAMES[1]].encode() not in raw
    assert stored(store_path, vault=vault()) == rotated.values


def test_a_plain_store_stays_plain_unless_encryption_is_requested(store_path):
    SecretsStore(store_path, vault=vault()).ensure(NAMES)
    assert not store_path.read_bytes().startswith(b"$ANSIBLE_VAULT")

    result = SecretsStore(store_path, vault=vault(), encrypt=True).ensure(NAMES)

    assert result.changed is True
    assert result.file_changes == ["encrypt with Ansible Vault"]
    assert store_path.read_bytes().startswith(b"$ANSIBLE_VAULT")
    assert stored(store_path, vault=vault()) == result.values


def test_an_encrypted_store_without_a_vault_password_is_a_clear_error(store_path):
    SecretsStore(store_path, vault=vault(), encrypt=True).ensure(NAMES)
    raw = store_path.read_bytes()

    with pytest.raises(SecretsStoreError, match="encrypted with Ansible Vault but no vault password") as error:
        SecretsStore(store_path).ensure(NAMES)
    assert str(store_path) in str(error.value)

    with pytest.raises(SecretsStoreError, match="cannot be decrypted"):
        SecretsStore(store_path, vault=vault(b"wrong password")).ensure(NAMES)
    assert store_path.read_bytes() == raw


def test_encryption_without_a_vault_is_an_error_before_anything_is_written(store_path):
    with pytest.raises(SecretsStoreError, match="no vault password"):
        SecretsStore(store_path, encrypt=True).ensure(NAMES)
    assert not store_path.parent.exists()


def test_vault_id_picks_the_encryption_secret(store_path):
    two = VaultLib(secrets=[("dev", VaultSecret(b"dev-pw")), ("prod", VaultSecret(b"prod-pw"))])

    result = SecretsStore(store_path, vault=two, vault_id="prod", encrypt=True).ensure(NAMES)

    assert store_path.read_bytes().startswith(b"$ANSIBLE_VAULT;1.2;AES256;prod\n")
    assert stored(store_path, vault=vault(b"prod-pw", "prod")) == result.values
    # Re-encrypted with the secret that decrypted it, not the first one.
    SecretsStore(store_path, vault=two).ensure(NAMES, rotate=[NAMES[0]])
    assert store_path.read_bytes().startswith(b"$ANSIBLE_VAULT;1.2;AES256;prod\n")


def test_an_unknown_vault_id_is_an_error_and_writes_nothing(store_path):
    SecretsStore(store_path).ensure(NAMES)
    raw = store_path.read_bytes()
    with pytest.raises(SecretsStoreError, match="no vault secret with vault id 'nope'"):
        SecretsStore(store_path, vault=vault(), vault_id="nope", encrypt=True).ensure(NAMES)
    assert store_path.read_bytes() == raw


def test_vault_from_password_reads_what_vaultlib_wrote(store_path):
    result = SecretsStore(store_path, vault=vault(b"pw"), encrypt=True).ensure(NAMES)
    assert stored(store_path, vault=vault_from_password("pw")) == result.values


# --- corrupt and unreadable stores --------------------------------------------------


CORRUPT = {
    "bad YAML": b"proxy_secret_token: 0123abcd-secret-looking\ncookie_secret: [unclosed\n",
    "a list": b"- proxy_secret_token\n- cookie_secret\n",
    "a scalar": b"just some text\n",
    "binary garbage": bytes(range(256)) * 4,
    "control characters": b"a: b\x00c\n",
    "non-string value": b"proxy_secret_token: 12345\n",
    "null value": b"proxy_secret_token:\n",
    "nested value": b"proxy_secret_token: {a: b}\n",
    "non-string name": b"1: abc\n",
    "duplicate name": b"proxy_secret_token: first-value\nproxy_secret_token: second-value\n",
    "a vault header but garbage": b"$ANSIBLE_VAULT;1.1;AES256\nnot hex at all\n",
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_store_is_a_clear_error_and_left_untouched(store_path, content):
    store_path.parent.mkdir()
    store_path.write_bytes(content)
    store_path.chmod(0o640)

    for check_mode in (True, False):
        with pytest.raises(SecretsStoreError) as error:
            SecretsStore(store_path, vault=vault()).ensure(NAMES, rotate=[NAMES[0]], check_mode=check_mode)
        assert str(store_path) in str(error.value)

    assert store_path.read_bytes() == content
    assert mode(store_path) == 0o640
    assert {p.name for p in store_path.parent.iterdir()} <= {"secrets.yml", "secrets.yml.lock"}


def test_a_yaml_error_message_does_not_quote_the_file(store_path):
    store_path.parent.mkdir()
    store_path.write_bytes(CORRUPT["bad YAML"])

    with pytest.raises(SecretsStoreError, match=r"is not valid YAML: .* at line 3, column 1") as error:
        SecretsStore(store_path).read()

    assert "secret-looking" not in str(error.value)
    assert error.value.__cause__ is None
    assert error.value.__suppress_context__ is True


def test_a_directory_in_place_of_the_store_is_a_clear_error(store_path):
    store_path.mkdir(parents=True)
    (store_path / "inside").write_text("untouched")

    with pytest.raises(SecretsStoreError, match="is a directory"):
        SecretsStore(store_path).ensure(NAMES)

    assert [p.name for p in store_path.iterdir()] == ["inside"]
    assert (store_path / "inside").read_text() == "untouched"


def as_unprivileged(function) -> str:
    """What ``function()`` raised (its message), or "": as root, run in a child with nobody's ids.

    Root reads a file whatever its mode, so the unreadable-store error only
    exists for another account; the child keeps this process's imports, so
    it needs nothing from the checkout's path.
    """

    def call() -> str:
        try:
            function()
        except Exception as exc:  # the message is what the test checks
            return str(exc) or type(exc).__name__
        return ""

    if os.geteuid() != 0:
        return call()
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover  (the child reports through the pipe)
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(nobody.pw_gid, nobody.pw_gid, nobody.pw_gid)
            os.setresuid(nobody.pw_uid, nobody.pw_uid, nobody.pw_uid)
            os.write(write_end, call().encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged child failed"
    return message


def test_an_unreadable_store_is_a_clear_error():
    # A directory of the reader's own, outside pytest's root-only tmp dirs.
    state = Path(tempfile.mkdtemp(prefix="daskhub-unreadable-store-"))
    try:
        store_path = state / "secrets.yml"
        store_path.write_text("a: b\n")
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            for path in (state, store_path):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        store_path.chmod(0)
        message = as_unprivileged(lambda: SecretsStore(store_path).ensure(["a"]))
        assert "cannot be read" in message, message
        assert "Permission denied" in message
        store_path.chmod(0o600)
        assert store_path.read_text() == "a: b\n"
    finally:
        shutil.rmtree(state)


def test_a_file_where_the_directory_should_be_is_a_clear_error(tmp_path):
    (tmp_path / "state").write_text("not a directory")
    with pytest.raises(
        SecretsStoreError, match=r"secrets store .*state/secrets\.yml: .*state exists and is not a directory"
    ):
        SecretsStore(tmp_path / "state" / "secrets.yml").ensure(NAMES)
    assert (tmp_path / "state").read_text() == "not a directory"


# --- locking and concurrency --------------------------------------------------------


def test_a_held_lock_times_out_with_a_clear_error(store_path):
    store = SecretsStore(store_path, lock_timeout=0.3)
    store.ensure(NAMES)
    content = store_path.read_bytes()

    with open(store.lock_path, "a") as other_run:
        fcntl.flock(other_run.fileno(), fcntl.LOCK_EX)
        with pytest.raises(SecretsStoreError, match=r"timed out after 0\.3s waiting for the lock"):
            store.ensure(NAMES, rotate=NAMES)

    assert store_path.read_bytes() == content


def _ensure_in_child(path: str, names: list[str], barrier, results) -> None:
    try:
        barrier.wait(timeout=30)
        values, *_ = SecretsStore(path).ensure(names)
        results.put(("ok", values))
    except BaseException:  # the parent must hear about any failure
        results.put(("error", traceback.format_exc()))


def test_concurrent_runs_never_lose_a_secret(tmp_path):
    # fork: the child needs this module's function without re-importing it.
    context = multiprocessing.get_context("fork")
    workers = 6
    for round_number in range(25):
        # A fresh directory each round: the processes also race to create it.
        path = tmp_path / f"round{round_number}" / "state" / "secrets.yml"
        barrier = context.Barrier(workers)
        results = context.Queue()
        names = [[f"worker{i}_a", f"worker{i}_b", "shared_token"] for i in range(workers)]
        processes = [
            context.Process(target=_ensure_in_child, args=(str(path), names[i], barrier, results))
            for i in range(workers)
        ]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0

        errors = [detail for status, detail in outcomes if status != "ok"]
        assert errors == []
        returned = [detail for _status, detail in outcomes]
        on_disk = stored(path)
        assert set(on_disk) == {name for worker_names in names for name in worker_names}
        for values in returned:
            assert {name: on_disk[name] for name in values} == values
        # Exactly one run generated the shared secret; every other one read it.
        assert len({values["shared_token"] for values in returned}) == 1
        assert mode(path) == 0o600
