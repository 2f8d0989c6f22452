"""The end of a process's log file, for the message of a test that failed."""

from __future__ import annotations

from pathlib import Path


def tail(path: Path, chars: int = 4000) -> str:
    """The last ``chars`` characters of ``path``; "" when it cannot be read (not written yet)."""
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError:
        return ""
