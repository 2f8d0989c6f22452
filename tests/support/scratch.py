"""Where the tests write their stacks, hubs and temporary files: tmpfs when the machine has one.

A local stack's first converge writes a venv of about 540 MB (some 20,000
files) and its bytecode; on this machine's disk (ext4 on a virtual disk)
copying those files cost 12 s of CPU and 25 s of wall time, on /dev/shm 2 s
and 4 s. The hubs' SQLite commits are cheaper there as well. /dev/shm is
world-writable and sticky like /tmp, so the users' accounts of a stack can
reach what they must (each stack's root is made 0755 inside it).

:func:`use_tmpfs` points ``TMPDIR`` (inherited by every ansible-playbook and
program the tests start) and :mod:`tempfile` there, once, from conftest.py,
before any fixture makes a directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TMPFS = Path("/dev/shm")


def use_tmpfs() -> str:
    """Make TMPFS the temporary directory of this process and its children when writable; the directory used."""
    if TMPFS.is_dir() and os.access(TMPFS, os.W_OK | os.X_OK):
        os.environ["TMPDIR"] = str(TMPFS)
        tempfile.tempdir = None  # read TMPDIR again
    return tempfile.gettempdir()
