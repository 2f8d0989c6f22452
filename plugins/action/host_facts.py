# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Action plugin daskhub.deploy.host_facts: the facts the local target reads, gathered once a run.

On the controller itself (connection local, no become, the play's own
interpreter) the answer comes from this process (module_utils/host/facts.py):
no module starts. On any other host it is ansible.builtin.setup with the
collectors those facts come from. Either way the facts land in
``ansible_facts`` under setup's names.
"""

from __future__ import annotations

import sys

from ansible.plugins.action import ActionBase
from ansible_collections.daskhub.deploy.plugins.module_utils.host import facts as host_facts
from ansible_collections.daskhub.deploy.plugins.plugin_utils.in_process import runs_here


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset()

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        if runs_here(self, task_vars):
            result.update(changed=False, gathered_by="daskhub.deploy.host_facts")
            result["ansible_facts"] = host_facts.this_host_facts(sys.executable)
            return result
        answer = self._execute_module(
            module_name="ansible.builtin.setup",
            module_args={"gather_subset": host_facts.SETUP_SUBSET},
            task_vars=task_vars,
        )
        result.update(answer)
        result["gathered_by"] = "ansible.builtin.setup"
        return result
