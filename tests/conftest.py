"""Shared pytest setup: import this repository as the daskhub.deploy collection."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_DIR = REPO_ROOT / ".collections"

# `ansible_collections` is a namespace package: our linked collection and the
# ones bundled with the `ansible` package merge under it.
if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))

# The deployed local stacks (tests/support/stacks.py), for every test module.
from support.stacks import local_stack, upgraded_stack  # noqa: E402, F401
