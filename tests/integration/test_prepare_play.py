"""playbooks/prepare.yml, run for real: model validation and the secrets store.

This is the part of site.yml every target shares. The full converge of the
local target (and its -vvv log check) is in the Molecule default scenario.
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
    first = play(site, "-vvv")
    store = site / "state" / "secrets.yml"
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    secrets = yaml.safe_load(store.read_text())
    assert set(secrets) == {
        "proxy_secret_token", "cookie_secret", "dask_gateway_api_token", "user_sync_api_token", "dummy_password",
        "service_daskhub_verify_api_token", "service_jupyterhub_idle_culler_api_token",
    }
    assert all(HEX64.match(value) for value in secrets.values())
    assert len(set(secrets.values())) == len(secrets)
    assert recap(first.stdout)["changed"] >= 1

    second = play(site, "-vvv", "--diff")
    assert recap(second.stdout)["changed"] == 0
    assert yaml.safe_load(store.read_text()) == secrets
    for output in (first.stdout + first.stderr, second.stdout + second.stderr):
        for name, value in secrets.items():
            assert value not in output, f"{name} leaked into the -vvv output"


def test_check_mode_writes_nothing(site):
    result = play(site, "--check", "--diff")
    assert not (site / "state" / "secrets.yml").exists()
    assert recap(result.stdout)["failed"] == 0


def test_vault_encrypted_store(site, tmp_path):
    password = tmp_path / "vault-pass"
    password.write_text("correct horse battery staple\n")
    args = ("--vault-password-file", str(password), "-e", "daskhub_secrets_vault_encrypt=true", "-vvv")
    first = play(site, *args)
    store = site / "state" / "secrets.yml"
    text = store.read_text()
    assert text.startswith("$ANSIBLE_VAULT")
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    second = play(site, *args)
    assert recap(second.stdout)["changed"] == 0
    assert store.read_text() == text
    decrypted = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-vault"), "view",
            "--vault-password-file", str(password), str(store),
        ],
        capture_output=True, text=True, check=True,
    ).stdout
    for value in yaml.safe_load(decrypted).values():
        assert value not in first.stdout + second.stdout
    without_password = play(site, check=False)
    assert without_password.returncode != 0
    assert store.read_text() == text


def test_rotation_changes_only_the_named_secret(site):
    play(site)
    store = site / "state" / "secrets.yml"
    before = yaml.safe_load(store.read_text())
    result = play(site, "-e", '{"daskhub_secrets_rotate": ["dask_gateway_api_token"]}')
    after = yaml.safe_load(store.read_text())
    assert recap(result.stdout)["changed"] >= 1
    assert after["dask_gateway_api_token"] != before["dask_gateway_api_token"]
    assert {k: v for k, v in after.items() if k != "dask_gateway_api_token"} == {
        k: v for k, v in before.items() if k != "dask_gateway_api_token"
    }


def test_bad_model_fails_before_anything_changes(site):
    result = play(
        site,
        "-e", '{"daskhub_gateway_worker_cores": {"default": 9, "min": 1, "max": 4}}',
        "-e", "daskhub_gateway_worker_image=pangeo/base-notebook",
        check=False,
    )
    assert result.returncode != 0
    assert "daskhub_gateway_worker_cores: needs min <= default <= max" in result.stdout
    assert "When specifying an image you must also provide a tag" in result.stdout
    assert not (site / "state").exists()


def test_wrong_type_is_caught_by_the_argument_spec(site):
    # A string where the spec says int: the type check, not a choice list.
    result = play(site, "-e", '{"daskhub_singleuser_start_timeout": "soon"}', check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "daskhub_singleuser_start_timeout" in output
    # As the user wrote it, and what it should be.
    assert 'must be a whole number, got "soon"' in output.split("daskhub_singleuser_start_timeout", 1)[1][:300]
    assert not (site / "state").exists()


def test_a_bad_choice_is_caught_by_the_argument_spec(site):
    result = play(site, "-e", "daskhub_target=vm", check=False)
    assert result.returncode != 0
    assert "daskhub_target" in result.stdout
    assert "vm" in result.stdout.split("daskhub_target", 1)[1][:300]
    assert not (site / "state").exists()
