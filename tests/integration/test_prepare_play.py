"""playbooks/prepare.yml, run for real: model validation and the secrets store.

This is the part of site.yml every target shares. The full converge of the
local target (and its -vvv log check) is in the Molecule default scenario.
The model's refusals are test_prepare_model_input's; the store's behaviour
(rotation, Vault, corrupt stores) is the secrets plugin's tests'
(tests/unit/plugins/action/test_secrets_action.py); rotation through the
site's playbooks is test_ops_rotate's and test_secrets_store_stack's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.playbooks import ROOT, recap, run_playbook

PLAYBOOK = ROOT / "playbooks" / "prepare.yml"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def site(tmp_path) -> Path:
    inventory = tmp_path / "site"
    shutil.copytree(ROOT / "inventories" / "local", inventory, ignore=shutil.ignore_patterns("state"))
    return inventory


def play(inventory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = run_playbook(str(PLAYBOOK), "-i", str(inventory), *args)
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_secrets_are_created_once_and_never_printed(site):
    """Check mode writes nothing; the real run creates the store; a second run changes nothing; -vvv shows no value."""
    checked = play(site, "--check", "--diff")
    store = site / "state" / "secrets.yml"
    assert not store.exists()
    assert recap(checked.stdout)["failed"] == 0

    first = play(site, "-vvv")
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    secrets = yaml.safe_load(store.read_text())
    assert set(secrets) == {
        "proxy_secret_token",
        "cookie_secret",
        "dask_gateway_api_token",
        "user_sync_api_token",
        "dummy_password",
        "service_daskhub_verify_api_token",
        "service_jupyterhub_idle_culler_api_token",
    }
    assert all(HEX64.match(value) for value in secrets.values())
    assert len(set(secrets.values())) == len(secrets)
    assert recap(first.stdout)["changed"] >= 1

    second = play(site, "-vvv", "--diff")
    assert recap(second.stdout)["changed"] == 0
    assert yaml.safe_load(store.read_text()) == secrets
    for output in (checked.stdout + checked.stderr, first.stdout + first.stderr, second.stdout + second.stderr):
        for name, value in secrets.items():
            assert value not in output, f"{name} leaked into the -vvv output"


def test_the_site_asks_for_a_vault_encrypted_store(site, tmp_path):
    """daskhub_secrets_vault_encrypt reaches the store through the real playbook.

    The store's own behaviour (kept encrypted, rotated, refused without or
    with a wrong password) is tests/unit/plugins/action/test_secrets_action.py's.
    """
    password = tmp_path / "vault-pass"
    password.write_text("correct horse battery staple\n")
    result = play(site, "--vault-password-file", str(password), "-e", "daskhub_secrets_vault_encrypt=true", "-vvv")
    store = site / "state" / "secrets.yml"
    text = store.read_text()
    assert text.startswith("$ANSIBLE_VAULT")
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    decrypted = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-vault"),
            "view",
            "--vault-password-file",
            str(password),
            str(store),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for value in yaml.safe_load(decrypted).values():
        assert value not in result.stdout + result.stderr
