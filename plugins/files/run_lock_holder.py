# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Holds a site's run lock for the ansible-playbook run that started it (plugins/action/run_lock.py).

    python run_lock_holder.py PATH TIMEOUT WATCH_PID LABEL

Takes an exclusive flock(2) on PATH, waiting at most TIMEOUT seconds, and
prints one JSON line: ``{"ok": true, "owner": {...}, "waited": s}`` once it
holds the lock (the owner, with LABEL, also goes to PATH.owner.txt for the
next run to name), or ``{"ok": false, "owner": <the holder's>, ...}`` and
exit 1 when the wait ends or WATCH_PID (the ansible-playbook process) is
gone. Then it keeps the lock until WATCH_PID exits or it gets SIGTERM. The
kernel drops a flock with its holder, so a killed run leaves no stale lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sys
import time


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_owner(owner_path: str) -> dict:
    try:
        with open(owner_path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def main(path: str, timeout: float, watch_pid: int, label: str) -> None:
    owner_path = path + ".owner.txt"
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    start = time.monotonic()
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() - start >= timeout or not alive(watch_pid):
                answer = {"ok": False, "owner": read_owner(owner_path), "waited": time.monotonic() - start}
                print(json.dumps(answer), flush=True)
                os._exit(1)
            time.sleep(0.2)
    owner = {
        "pid": os.getpid(),
        "watch_pid": watch_pid,
        "host": socket.gethostname(),
        "label": label,
        "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = owner_path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(owner, handle)
    os.replace(tmp, owner_path)
    print(json.dumps({"ok": True, "owner": owner, "waited": time.monotonic() - start}), flush=True)
    # The action plugin reads one line; nothing may block on a closed pipe after.
    sys.stdout.close()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    while alive(watch_pid):
        time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
