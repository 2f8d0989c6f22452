# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""How host/ code that does a module's work talks back to the module.

Commands run through the module's ``run_command`` (passed in as a ``Run``),
which keeps Ansible's own Python path out of the programs it starts; a
failure is raised as a ``module_run.ModuleFailure`` carrying the result the
module reports beside its message.
"""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[[list], tuple]  # argv -> (rc, stdout, stderr), like AnsibleModule.run_command
