# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""How a module runs: its arguments, one call into module_utils, its result or its failure.

A module is its documentation, its argument spec and its ``ModuleWork``:
``work(module)`` does the module's work and returns its result, and
``errors`` are the exceptions that are its failures. ``run_as_module()``
is the module's ``main``; on the controller itself the same work runs
inside Ansible's worker instead (plugin_utils/in_process.py). A failure's
message is the module's ``msg``, and a ``ModuleFailure`` (or any
exception with a ``result``) reports that result beside it. A Python
library missing where the module runs (an ImportError of its work, such
as yaml_io.require_yaml's) fails it with that message too.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ansible.module_utils.basic import AnsibleModule


class ModuleFailure(Exception):
    """A failure to report as the module's message, with the result to report beside it."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


class ModuleWork(NamedTuple):
    """A module's argument spec, its work, the errors that are its failures, and AnsibleModule's options.

    ``options`` go to AnsibleModule (``required_if``, ...); check mode is
    supported unless they say otherwise.
    """

    argument_spec: dict
    work: Callable[[Any], dict]
    errors: tuple = (ModuleFailure,)
    options: Mapping = MappingProxyType({})

    def run_as_module(self) -> None:
        """Parse the module's arguments, run the work and exit with its result (or fail)."""
        module = AnsibleModule(argument_spec=self.argument_spec, **{"supports_check_mode": True, **self.options})
        try:
            result = self.work(module)
        except self.errors as err:
            module.fail_json(msg=str(err), **(getattr(err, "result", None) or {}))
        except ImportError as err:
            module.fail_json(msg=str(err), exception=traceback.format_exc())
        module.exit_json(**result)


def result_or_failure(outcome) -> dict:
    """A work's (result, failure message or None): the result, or a ModuleFailure that reports it."""
    result, failure = outcome
    if failure:
        raise ModuleFailure(failure, result)
    return result


def warned(module, outcome) -> dict:
    """A work's (result, warnings): each warning through ``module.warn``, then the result."""
    result, warnings = outcome
    for warning in warnings:
        module.warn(warning)
    return result
