"""A kubeconfig whose cluster never answers: runs stop at the cluster boundary."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml


def unreachable_kubeconfig(path: Path, contexts: list[str], current: str, token: str | None = None) -> Path:
    """Write a kubeconfig with the named contexts, all pointing at 127.0.0.1:1, its user's token ``token``."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": token or secrets.token_hex(16)}}],
                "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}} for name in contexts],
                "current-context": current,
            }
        )
    )
    return path
