# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Callback plugin daskhub.deploy.preload_template_plugins: the template plugins, loaded before the workers fork."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload_template_plugins
type: aggregate
author: DaskHub deployer maintainers (!UNKNOWN)
short_description: Loads the template plugins once in the controller, before it forks a worker for each task
description:
  - Ansible runs each task in a worker process forked from the controller, and a worker loads the filters, tests
    and lookups its templates use. What it loads ends with it. Ansible's collection loader compiles a collection's
    Python from source each time, without a bytecode cache, so every task that templates the site model compiled
    this collection's filter plugins and the module_utils they import again, and loaded Ansible's own filters
    and tests again.
  - This plugin loads them once, when the controller loads its callbacks, and every worker inherits them. On the
    default site a converge with nothing to do takes about half a second less (C(bench/template_plugins.py)
    measures it).
  - It prints nothing and changes no task or result.
requirements:
  - Enabled in C(ansible.cfg) (C(callbacks_enabled)), as this repository's is.
"""

import contextlib
import importlib
import os
import pkgutil

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import filter_loader, test_loader

# This collection's plugin folders whose plugins templates call: the filters
# (the site model, the local documents, ...) and the lookups (site_variables).
TEMPLATE_PLUGIN_KINDS = ("filter", "lookup")
COLLECTION_PACKAGE = "ansible_collections.daskhub.deploy.plugins"
PLUGINS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def template_plugin_modules() -> list[str]:
    """The Python modules of this collection's filter and lookup plugins, by the names Ansible loads them as."""
    return [
        f"{COLLECTION_PACKAGE}.{kind}.{info.name}"
        for kind in TEMPLATE_PLUGIN_KINDS
        for info in pkgutil.iter_modules([os.path.join(PLUGINS_DIR, kind)])
    ]


def preload() -> None:
    """Loads Ansible's own filters and tests and this collection's filter and lookup plugins into this process."""
    # Asking for one builtin loads them all: the loaders keep every builtin filter (test) file's plugins.
    filter_loader.get("ansible.builtin.to_json")
    test_loader.get("ansible.builtin.truthy")
    for name in template_plugin_modules():
        # One that cannot be imported (a library missing on this controller)
        # is left to the task that calls it, where Ansible reports the error
        # as it would without this plugin.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


class CallbackModule(CallbackBase):
    """Preloads on construction: the controller constructs its callbacks before the first play forks a worker."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "daskhub.deploy.preload_template_plugins"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        preload()
