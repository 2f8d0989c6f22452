"""Running this repository's playbooks from tests, and reading their recap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
_RECAP = re.compile(r"localhost\s+: ok=(\d+)\s+changed=(\d+).*failed=(\d+)")


def ansible_env(**extra: str) -> dict:
    """The environment for ansible-playbook: this repository's ansible.cfg, no colours."""
    return {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", **extra}


def recap(output: str) -> dict:
    """ok, changed and failed of localhost from the last PLAY RECAP."""
    matches = _RECAP.findall(output)
    assert matches, output[-3000:]
    ok, changed, failed = matches[-1]
    return {"ok": int(ok), "changed": int(changed), "failed": int(failed)}


def run_playbook(*argv: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """ansible-playbook from the repository root; never raises on a failed play."""
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, *argv],
        cwd=ROOT,
        env=env or ansible_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
