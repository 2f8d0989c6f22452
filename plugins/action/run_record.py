# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Action plugin daskhub.deploy.run_record: the record of a scheduled job's last run, written on the controller.

The record lies in the site's state directory, which is the controller's
(the secrets store and the run locks are there too). Written here, it costs
no module call: ansible.builtin.copy asked the host twice (stat, then copy)
on every user sync, for a file that changes each run.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.daskhub.deploy.plugins.module_utils.state import run_records


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("path", "ok", "summary", "mode"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(
            argument_spec={
                "path": {"type": "path", "required": True},
                "ok": {"type": "bool", "required": True},
                "summary": {"type": "str", "default": ""},
                "mode": {"type": "raw", "default": "0644"},
            }
        )
        path = os.path.abspath(os.path.expanduser(args["path"]))
        try:
            # A YAML integer (mode: 0644 unquoted) is already the number, as for ansible.builtin.file.
            mode = args["mode"] if isinstance(args["mode"], int) else int(str(args["mode"]), 8)
        except ValueError:
            raise AnsibleActionFail(f"mode: an octal mode such as '0644' is expected, got {args['mode']!r}") from None
        # A log of the run, not the site's state: a run that changes nothing
        # else reports changed=0. Check mode changes nothing, this file included.
        result.update(changed=False, path=path)
        if self._task.check_mode:
            result["written"] = False
            return result
        try:
            result["record"] = run_records.write(path, args["ok"], mode, summary=args["summary"])
        except OSError as exc:
            raise AnsibleActionFail(f"path: cannot write the run record {path}: {exc}") from None
        result["written"] = True
        return result
