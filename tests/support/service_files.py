"""The code the services run, as the tests load it: imported as a module, or
run as a traitlets config file (with `c` and `__file__`), as the hub and the
gateway run it.

- plugins/files/: what both targets run (the gateway's options handler and
  authenticator; see its README.md);
- roles/daskhub_local/files/: the local target's config loaders, spawners
  and backends.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from support.playbooks import ROOT

SHARED = ROOT / "plugins" / "files"
LOCAL = ROOT / "roles" / "daskhub_local" / "files"


def import_file(path: Path) -> ModuleType:
    """The file as a module of its own (not run as config: no `c`)."""
    spec = importlib.util.spec_from_file_location(f"daskhub_test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_config(path: Path, config, namespace: dict | None = None) -> dict:
    """Run a file as traitlets runs a config file, in ``namespace`` (the globals a previous file left)."""
    namespace = {} if namespace is None else namespace
    namespace.setdefault("__file__", str(path))
    namespace["c"] = config
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102  our own files
    return namespace


def run_extra_config(entries: dict, config) -> dict:
    """gateway.extraConfig as the dask-gateway chart runs it: the entries by sorted key, in one namespace."""
    namespace = {"c": config}
    for key in sorted(entries):
        exec(compile(entries[key], f"gateway.extraConfig.{key}", "exec"), namespace)  # noqa: S102  rendered values
    return namespace
