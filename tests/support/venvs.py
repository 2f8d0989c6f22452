"""What a venv holds, read from its site-packages' metadata (no interpreter of the venv runs)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from packaging.utils import canonicalize_name


def venv_distributions(venv: Path) -> set[str]:
    """The canonical names (packaging's) of the distributions installed in ``venv``."""
    sites = [str(site) for site in venv.glob("lib/python3*/site-packages")]
    assert sites, f"{venv} has no site-packages"
    return {canonicalize_name(dist.metadata["Name"]) for dist in importlib.metadata.distributions(path=sites)}
