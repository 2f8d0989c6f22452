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

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

HOLDER = r"""
import fcntl, json, os, signal, socket, sys, time
path, timeout, watch_pid, label = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
owner_path = path + ".owner.txt"
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
signal.signal(signal.SIGHUP, signal.SIG_IGN)
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
start = time.monotonic()
while True:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        if time.monotonic() - start >= timeout or not alive(watch_pid):
            try:
                with open(owner_path) as fh:
                    owner = json.load(fh)
            except (OSError, ValueError):
                owner = {}
            print(json.dumps({"ok": False, "owner": owner, "waited": time.monotonic() - start}), flush=True)
            os._exit(1)
        time.sleep(0.2)
owner = {"pid": os.getpid(), "watch_pid": watch_pid, "host": socket.gethostname(), "label": label,
         "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
tmp = owner_path + ".tmp"
with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
    json.dump(owner, fh)
os.replace(tmp, owner_path)
print(json.dumps({"ok": True, "owner": owner, "waited": time.monotonic() - start}), flush=True)
sys.stdout.close()
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
while alive(watch_pid):
    time.sleep(0.5)
"""


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
        _, args = self.validate_argument_spec(
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
            [sys.executable, "-c", HOLDER, path, str(args["timeout"]), str(run_pid), args["label"]],
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
