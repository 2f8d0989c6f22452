# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Action plugin daskhub.deploy.run_lock: a flock held for a whole playbook run.

A module's process ends with its task, so a lock taken there would not span
the play. Instead a small holder process takes an exclusive flock(2) on the
lock file and keeps it until the ansible-playbook process that started it
exits (or a later task releases it). Because the kernel drops a flock when
its holder dies, a crashed or killed run never leaves a stale lock behind.

The lock file itself stays empty and the holder's description goes to
"<path>.owner.txt": the default path is in the inventory's state directory,
and Ansible parses every file there as inventory except ignored extensions
such as .txt.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

# The process that holds the lock: a real file, run by this interpreter.
HOLDER = Path(__file__).resolve().parents[1] / "files" / "run_lock_holder.py"


def _read_owner(path):
    try:
        with open(path + ".owner.txt", encoding="utf-8") as fh:
            return json.loads(fh.read() or "{}")
    except (OSError, ValueError):
        return {}


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("path", "state", "timeout", "label"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(
            argument_spec={
                "path": {"type": "path", "required": True},
                "state": {"type": "str", "default": "acquired", "choices": ["acquired", "released"]},
                "timeout": {"type": "float", "default": 600},
                "label": {"type": "str", "default": "ansible-playbook"},
            }
        )
        path = os.path.abspath(os.path.expanduser(args["path"]))
        # Workers are forked by the ansible-playbook process: our parent is
        # the run that the lock belongs to.
        run_pid = os.getppid()
        result.update(changed=False, path=path)
        if args["state"] == "released":
            owner = _read_owner(path)
            if owner.get("watch_pid") == run_pid and owner.get("pid"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(owner["pid"]), signal.SIGTERM)
                result["released"] = True
            else:
                result["released"] = False
            return result

        # Reentrant within one run: site.yml's plays, and the playbooks it
        # imports, each take the site's lock; the holder of this run keeps it.
        owner = _read_owner(path)
        if owner.get("watch_pid") == run_pid and _alive(owner.get("pid")):
            result.update(holder_pid=owner["pid"], waited=0.0, held_already=True)
            return result

        os.makedirs(os.path.dirname(path), exist_ok=True)
        proc = subprocess.Popen(
            [sys.executable, str(HOLDER), path, str(args["timeout"]), str(run_pid), args["label"]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        line = proc.stdout.readline()
        proc.stdout.close()
        try:
            answer = json.loads(line)
        except ValueError:
            proc.wait(5)
            raise AnsibleActionFail(f"the lock holder for {path} failed to start (exit {proc.returncode})") from None
        if not answer["ok"]:
            proc.wait(5)
            owner = answer.get("owner") or {}
            since = owner.get("since", "an unknown time")
            raise AnsibleActionFail(
                f"another run holds the lock {path} ({owner.get('label', 'ansible-playbook')}, lock holder "
                f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}, since {since}); gave up after waiting "
                f"{answer.get('waited', 0):.0f}s. Let it finish, or raise the timeout. The lock is a flock: it "
                "disappears with the process holding it, so there is never a stale lock file to delete."
            )
        # The holder is in its own session and outlives this task on purpose.
        result.update(holder_pid=answer["owner"]["pid"], waited=round(answer["waited"], 3))
        return result
