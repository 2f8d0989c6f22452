"""Helpers of the secrets store's tests (tests/unit/plugins/module_utils/state/): a store path, its modes, a vault."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_store import SecretsStore

NAMES = ["proxy_secret_token", "cookie_secret", "dask_gateway_api_token"]


@pytest.fixture(name="store_path")
def store_path_fixture(tmp_path: Path) -> Path:
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


def vault(password: bytes = b"correct horse", vault_id: str = "default") -> VaultLib:
    return VaultLib(secrets=[(vault_id, VaultSecret(password))])
