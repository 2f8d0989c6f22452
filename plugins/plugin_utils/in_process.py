# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A module's work run inside the controller's worker, when the host is the controller itself.

A module call starts a Python process that imports AnsibleModule: about half
a second of the controller's time each, and a converge with nothing to do
makes four of them (the local target's preflight, venv, files and
supervisord). Where the task's host is the controller itself (connection
local, no become, not async, and the host's interpreter the one running
Ansible; for a delegated task, the delegate's), that process would run the
same code as the same user on the same interpreter; so the module's work (module_run.ModuleWork)
runs in the task's worker instead (a process Ansible forks for this one
task), as the module's process would: its arguments as the JSON Ansible
sends, validated by the module's own spec; the task's ``environment``
set; its result cleaned of its no_log values as AnsibleModule cleans them.
On any other host the module runs as usual.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import subprocess
import sys
import traceback

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")
# The AnsibleModule options that are rules on the arguments (the rest, such as
# supports_check_mode, are about the module).
VALIDATOR_OPTIONS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


def runs_here(action: ActionBase, task_vars: dict) -> bool:
    """Whether the action's task would run its module on the controller, as this user, on this interpreter."""
    task = action._task
    if action._connection.transport not in LOCAL_CONNECTIONS or action._play_context.become:
        return False
    if task.async_val:
        return False
    # A delegated task runs with its delegate's variables (its connection and
    # become are already the delegate's), as ActionBase reads them for a module.
    host_vars = task_vars.get("ansible_delegated_vars", {}).get(task.delegate_to, {}) if task.delegate_to else task_vars
    interpreter = host_vars.get("ansible_python_interpreter")
    if not interpreter:
        return False
    return action._templar.template(interpreter) == sys.executable


class _CommandNotRun(Exception):
    """A command that could not start (AnsibleModule.run_command fails the module with it)."""

    def __init__(self, message: str, errno: int | None):
        super().__init__(message)
        self.result = {"rc": errno}


class WorkerModule:
    """What a module's work reads from its AnsibleModule, in this process."""

    def __init__(self, params: dict, check_mode: bool, diff: bool):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def run_command(self, args: list) -> tuple[int, str, str]:
        """argv -> (rc, stdout, stderr), like AnsibleModule.run_command on an argv list."""
        try:
            completed = subprocess.run(
                [str(arg) for arg in args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="surrogateescape",
                check=False,
            )
        except OSError as err:
            raise _CommandNotRun(str(err), err.errno) from err
        return completed.returncode, completed.stdout, completed.stderr


def as_module_receives(args: dict) -> dict:
    """The task's arguments as the module's process would read them: through the JSON Ansible sends.

    A task's values are Ansible's own types (tagged strings, lazy
    containers), which the work's libraries (PyYAML's safe dump) refuse.
    """
    encoder = get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE)
    return json.loads(json.dumps(args, cls=encoder))


def run_work(name: str, module_work: ModuleWork, args: dict, check_mode: bool, diff: bool) -> dict:
    """The result the module ``name`` would return for ``args``: its work run here, or its failure."""
    rules = {option: value for option, value in module_work.options.items() if option in VALIDATOR_OPTIONS}
    validation = ArgumentSpecValidator(module_work.argument_spec, **rules).validate(as_module_receives(args))
    if validation.error_messages:
        msg = validation.errors.msg
        if isinstance(validation.errors.errors[0], UnsupportedError):  # worded as AnsibleModule words it
            msg = f"Unsupported parameters for ({name}) module: {msg}"
        result = {"failed": True, "msg": msg}
    else:
        result = _work_result(module_work, WorkerModule(validation.validated_parameters, check_mode, diff))
    # As AnsibleModule's exit_json and fail_json: no value of a no_log option
    # leaves, not even in a refusal's message ("... got: <value>"), and what
    # leaves is what its JSON would carry (a set or a tuple is a list, a date
    # its ISO form).
    return json.loads(json.dumps(remove_values(result, validation._no_log_values), default=_as_json))


def _work_result(module_work: ModuleWork, module: WorkerModule) -> dict:
    try:
        result = dict(module_work.work(module))
    except (*module_work.errors, _CommandNotRun) as err:
        result = {**(getattr(err, "result", None) or {}), "failed": True, "msg": str(err)}
    except ImportError as err:
        result = {"failed": True, "msg": str(err), "exception": traceback.format_exc()}
    result.setdefault("changed", False)
    if module.warnings:
        result["warnings"] = module.warnings
    return result


def _as_json(value):
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class InProcessModuleAction(NormalAction):
    """The action of a module whose work may run here: set MODULE_WORK to the module's ModuleWork.

    On any other host it is Ansible's own action for modules (async included).
    """

    MODULE_WORK: ModuleWork

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        if not runs_here(self, task_vars):
            return super().run(tmp, task_vars)
        result = ActionBase.run(self, tmp, task_vars)
        name = self._task.resolved_action
        if self._task.check_mode and not self.MODULE_WORK.options.get("supports_check_mode", True):
            # As AnsibleModule skips a module without check mode.
            result.update(skipped=True, msg=f"remote module ({name}) does not support check mode")
            return result
        environment: dict = {}
        self._compute_environment_string(environment)
        with task_environment(environment):
            result.update(run_work(name, self.MODULE_WORK, self._task.args, self._task.check_mode, self._task.diff))
        return result


@contextlib.contextmanager
def task_environment(environment: dict):
    """The task's ``environment`` in this process's, as the module's process would have it, then as it was."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update({name: str(value) for name, value in environment.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
