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
# The tests' helpers (``support``): pytest puts this folder on the path by
# itself, ansible-test units (scripts/run_ansible_test.py) imports this file
# as a module of the collection and does not.
if str(REPO_ROOT / "tests") not in sys.path:
    sys.path.insert(1, str(REPO_ROOT / "tests"))

# Stacks, hubs and tmp_path on tmpfs (support/scratch.py says why); before
# any fixture makes a directory.
from support.scratch import use_tmpfs  # noqa: E402

use_tmpfs()

# The deployed local stacks (tests/support/stacks.py), and the public site
# (HTTPS from a local ACME server, logins through an OpenID Connect provider,
# tests/support/public_stack.py), for every test module.
from support.public_stack import oidc_provider, pebble, public_stack  # noqa: E402
from support.stacks import local_stack, upgraded_site, upgraded_stack  # noqa: E402

# The fixtures above are this file's by import: pytest finds them here.
__all__ = ["local_stack", "oidc_provider", "pebble", "public_stack", "upgraded_site", "upgraded_stack"]


def pytest_collection_modifyitems(config, items):
    """Tests that take a stack down last, tests that wait for the clock first; keep ``--dist loadgroup``
    grouping on pytest 9.

    The ``takes_down_the_stack`` tests (uninstall, purge) move behind every
    other test, so that ``pytest test_ops_uninstall.py
    test_ops_jupyterhub_upgrade.py`` runs the upgrade tests on a live stack
    too; the sort is stable, so the rest keep their order. A worker of
    ``--dist loadgroup`` runs its group's tests in this order.

    The ``waits_for_the_clock`` tests (of no group) move ahead of the rest.
    ``--dist loadgroup`` hands out the groups first (the most tests first),
    then the tests of no group in this order; in file order the cron test
    came last, and its wait for cron's minute (up to 60 s) was a tail of the
    suite with one core idle. First, its wait overlaps the other workers' tests.

    pytest-xdist (3.8) groups a worker's tests by suffixing ``item._nodeid``
    with ``@<xdist_group>``; pytest 9 reads ``item._id`` instead, so without
    this every test of a group could go to any worker and each worker would
    deploy its own copy of a shared stack.
    """
    items.sort(
        key=lambda item: (
            item.get_closest_marker("takes_down_the_stack") is not None,
            item.get_closest_marker("waits_for_the_clock") is None,
        )
    )
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId  # noqa: PLC0415  pytest >= 9 only
    except ImportError:
        return  # older pytest: xdist's own suffix works
    for item in items:
        marks = item.iter_markers("xdist_group")
        names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default")) for mark in marks}
        if names and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")
