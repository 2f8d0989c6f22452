"""Faults a local site must recover from, made the way they happen: a SIGKILLed process, an install cut short.

Used by the recovery tests (test_local_recovery.py) and by the reinstall and
the purge of a broken site (test_ops_uninstall.py), all on the upgraded stack. ``stack``
is a :class:`support.stacks.LocalStack`.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from support.playbooks import start_playbook


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def kill(pid: int, timeout: float = 30) -> None:
    """SIGKILL ``pid`` and wait until it is gone."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"{pid} outlived SIGKILL"
        time.sleep(0.1)


def supervisord_pid(stack) -> int | None:
    """The pid of the stack's supervisord, or None when it does not answer."""
    out = stack.ctl("pid").stdout.strip()
    return int(out) if out.isdigit() else None


def cron_file(stack) -> Path:
    """The stack's one watchdog entry in /etc/cron.d."""
    found = [path for path in Path("/etc/cron.d").iterdir() if str(stack.prefix) in path.read_text(errors="replace")]
    assert len(found) == 1, f"one cron entry of the stack expected in /etc/cron.d, found {found}"
    return found[0]


def interrupted_install(stack, log: Path) -> None:
    """rm the venv (if there is one), start site.yml, and SIGTERM its process group (as ^C or a CI timeout)
    while it installs."""
    shutil.rmtree(stack.prefix / "venv", ignore_errors=True)
    with log.open("w") as out:
        play = start_playbook("-i", str(stack.inventory), "site.yml", stdout=out, new_session=True)
        try:
            # The installer is at work once packages land in the new venv.
            deadline = time.monotonic() + 300
            while len(glob.glob(str(stack.prefix / "venv/lib/python3*/site-packages/*.dist-info"))) < 20:
                assert play.poll() is None, f"site.yml ended before the install:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"no install within 300 s:\n{log.read_text()[-3000:]}"
                time.sleep(0.1)
            os.killpg(play.pid, signal.SIGTERM)
            play.wait(timeout=60)
        finally:
            if play.poll() is None:
                os.killpg(play.pid, signal.SIGKILL)
                play.wait()
    assert "Install the pinned stack into the venv" in log.read_text()
    broken = subprocess.run([str(stack.python), "-c", "import jupyterhub"], capture_output=True, check=False)
    assert broken.returncode != 0, "the interrupted install left a working venv: this test stopped it too late"
