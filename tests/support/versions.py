"""The versions the tests use, read from the roles' defaults: the one place a test learns a pin.

A test that needs "the gateway this project deploys" or "the hub the local
target installs" reads it here rather than spelling it, so that moving a pin
in the role's defaults moves the tests with it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"


@cache
def _defaults(role: str) -> dict:
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def role_defaults(role: str) -> dict:
    """A role's defaults/main.yml (a fresh copy: tests may change it)."""
    return yaml.safe_load(yaml.safe_dump(_defaults(role)))


def local_defaults() -> dict:
    """The daskhub_local role's defaults/main.yml."""
    return role_defaults("daskhub_local")


def local_versions() -> dict:
    """daskhub_local_versions of the role's defaults (the pins the local target and the stacks install)."""
    return local_defaults()["daskhub_local_versions"]


# The charts the Kubernetes target deploys (roles/daskhub_model/defaults).
JUPYTERHUB_CHART_VERSION = str(_defaults("daskhub_model")["daskhub_jupyterhub_chart_version"])
GATEWAY_VERSION = str(_defaults("daskhub_model")["daskhub_dask_gateway_chart_version"])
