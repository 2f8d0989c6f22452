"""Commands run as another account of the host, for what every account must be able to do."""

from __future__ import annotations

import pwd
import subprocess


def as_nobody(*command) -> subprocess.CompletedProcess:
    """``command`` run as nobody (no supplementary groups, from /): needs root."""
    nobody = pwd.getpwnam("nobody")
    return subprocess.run(
        [str(part) for part in command],
        user=nobody.pw_uid,
        group=nobody.pw_gid,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )
