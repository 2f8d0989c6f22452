# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Action plugin daskhub.deploy.kubernetes_tools: on the controller, the module's work runs in the worker.

See plugins/plugin_utils/in_process.py; on any other host the module runs as usual.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.modules import kubernetes_tools
from ansible_collections.daskhub.deploy.plugins.plugin_utils.in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    MODULE_WORK = kubernetes_tools.MODULE_WORK
