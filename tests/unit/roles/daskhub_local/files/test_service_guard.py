"""The hub's managed services end with the hub (roles/daskhub_local/files/daskhub_service_guard.py).

A stand-in hub (a Python process, as JupyterHub's spawner does: Popen in a
session of its own) starts a service through the guard, and is killed with
SIGKILL, as a hub that cannot clean up. The service must end with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ansible_collections.daskhub.deploy.plugins.module_utils.host import processes
from support.playbooks import ROOT

GUARD = ROOT / "roles/daskhub_local/files/daskhub_service_guard.py"
# Starts its command in a session of its own, as JupyterHub starts a managed service.
HUB = ROOT / "tests/support/hub_stand_in.py"


def test_a_service_ends_with_its_killed_hub():
    service_command = [sys.executable, str(GUARD), "sleep", "300"]
    hub = subprocess.Popen([sys.executable, str(HUB), *service_command], stdout=subprocess.PIPE, text=True)
    service = int(hub.stdout.readline())
    try:
        # The guard became the service: same pid, the command it was given.
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{service}/cmdline").read_text().startswith("sleep\0"):
            assert time.monotonic() < deadline, "the guard did not exec its command"
            time.sleep(0.05)
        hub.kill()
        hub.wait()
        deadline = time.monotonic() + 10
        while processes.alive(service):
            assert time.monotonic() < deadline, "the service outlived its hub"
            time.sleep(0.05)
    finally:
        hub.kill()
        if processes.alive(service):
            os.kill(service, signal.SIGKILL)


def test_without_a_command_it_says_how_to_call_it():
    proc = subprocess.run([sys.executable, str(GUARD)], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stderr.strip()) == (2, "usage: daskhub_service_guard.py COMMAND [ARG ...]")
