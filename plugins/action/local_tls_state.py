# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Action plugin daskhub.deploy.local_tls_state: on the controller, the module's work runs in the worker.

See plugins/plugin_utils/in_process.py; on any other host the module runs as usual.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.modules import local_tls_state
from ansible_collections.daskhub.deploy.plugins.plugin_utils.in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    MODULE_WORK = local_tls_state.MODULE_WORK
