"""The secrets store's file (plugins/module_utils/state/) under stress.

Vault encryption, corrupt and unreadable stores, locks and concurrent runs.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import pwd
import shutil
import tempfile
import traceback
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.daskhub.deploy.plugins.module_utils.state import secrets_disk
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_file import (
    SecretsStoreError,
    vault_from_password,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_store import SecretsStore
from support import secret_stores
from support.secret_stores import NAMES, mode, stored, umask, vault

# The fixture: a store path in the test's temp dir.
store_path_fixture = secret_stores.store_path_fixture


# --- vault -------------------------------------------------------------------------------


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


def test_the_disk_helpers_keep_the_store_private_whatever_the_umask(tmp_path):
    # state/secrets_disk.py on its own: the directories, the file, no temporary left behind.
    path = str(tmp_path / "a" / "b" / "secrets.yml")
    with umask(0):
        secrets_disk.make_private_parents(path)
        secrets_disk.replace_atomically(path, b"x: '1'\n")
        secrets_disk.replace_atomically(path, b"x: '2'\n")
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b"), mode(Path(path))) == (0o700, 0o700, 0o600)
    assert os.listdir(tmp_path / "a" / "b") == ["secrets.yml"]
    assert Path(path).read_bytes() == b"x: '2'\n"
