"""plugins/files/run_lock_holder.py as the run_lock action plugin starts it: a real process and a real flock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support.playbooks import ROOT

HOLDER = ROOT / "plugins" / "files" / "run_lock_holder.py"


def _start(path, timeout, label):
    proc = subprocess.Popen(
        [sys.executable, str(HOLDER), str(path), str(timeout), str(os.getpid()), label],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return proc, json.loads(proc.stdout.readline())


def test_the_second_holder_waits_then_names_the_first(tmp_path):
    lock = tmp_path / "run.lock"
    first, answer = _start(lock, 5, "first run")
    try:
        assert answer["ok"] is True
        assert answer["owner"]["label"] == "first run" and answer["owner"]["watch_pid"] == os.getpid()
        assert oct(lock.stat().st_mode & 0o777) == "0o600"
        assert json.loads((tmp_path / "run.lock.owner.txt").read_text())["pid"] == first.pid
        second, refused = _start(lock, 0.5, "second run")
        assert second.wait(10) == 1
        assert refused["ok"] is False and refused["owner"]["label"] == "first run" and refused["waited"] >= 0.5
    finally:
        first.terminate()
        first.wait(10)
    third, answer = _start(lock, 5, "third run")
    try:
        assert answer["ok"] is True, "the lock went with its holder"
    finally:
        third.terminate()
        third.wait(10)
