# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Action plugin daskhub.deploy.sqlite_backup: on the controller, the module's work runs in the worker.

See plugins/plugin_utils/in_process.py; on any other host the module runs as usual.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.modules import sqlite_backup
from ansible_collections.daskhub.deploy.plugins.plugin_utils.in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    MODULE_WORK = sqlite_backup.MODULE_WORK
