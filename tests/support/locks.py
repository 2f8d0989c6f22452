"""The Python locks of requirements/ (scripts/lock.sh), read as the tests check them."""

from __future__ import annotations

import re
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"

# What only the tests use (requirements/tests.in): none of it belongs in
# what an operator installs or in the execution environment.
TEST_TOOLS = frozenset({
    "pytest", "pytest-xdist", "molecule", "ansible-lint", "yamllint", "ruff", "playwright",
    "ansible-builder", "dask-gateway-server", "kubernetes-validate",
})


def normalized(name: str) -> str:
    """A package name as PyPI compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of a requirements file of ``name==version`` pins.

    Anything else but comments and hash continuation lines fails: a lock holds pins only.
    """
    found: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pin = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^ ;\\]+)", line)
        if pin:
            current = normalized(pin.group(1))
            found[current] = (pin.group(3), [])
        elif stripped.startswith("--hash=sha256:") and current:
            found[current][1].append(stripped.split(":", 1)[1].rstrip(" \\"))
        else:
            raise AssertionError(f"not a pin of a lock: {line!r}")
    return found


def lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """The entries of requirements/<name>.txt."""
    return lock_entries((REQUIREMENTS / f"{name}.txt").read_text())


def versions(entries: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    return {name: version for name, (version, _hashes) in entries.items()}
