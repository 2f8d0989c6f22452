"""Let ansible-test make its virtual environments without ci-files.testing.ansible.com.

``ansible-test sanity`` (and ``units`` where it manages the Python) builds a
virtual environment per test, without pip, and puts pip into it by running a
get-pip script it downloads from ``ci-files.testing.ansible.com`` and keeps in
``~/.ansible/test/cache/get_pip_<version>.py`` (ansible/ansible#77304). Where
that host cannot be reached it stops: ``Python 3.12 at ".../bin/python" does
not have pip available``. Its own error says the script may be saved there by
hand; this does that, from PyPI alone:

- downloads the pip wheel of the version ansible-test pins (read from
  ansible-test itself, so an upgrade of ansible-core follows) next to it;
- writes there a get-pip script of our own that installs the packages
  ansible-test names (``pip==<version>``) from that wheel, with the wheel's
  own pip (pip runs from its wheel), and nothing from the network.

The rest of what ansible-test installs (each test's pinned requirements) comes
from the package index as usual. A second run finds both files and does
nothing.

    .venv/bin/python scripts/ansible_test_pip.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CACHE = Path("~/.ansible/test/cache").expanduser()

# What ansible-test runs as GET_PIP: ``python get_pip.py [pip options] pip==X --no-setuptools --no-wheel``.
GET_PIP = '''\
"""pip {version} from the wheel beside this file, for ansible-test (written by scripts/ansible_test_pip.py)."""

import os
import sys

WHEEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "{wheel}")
sys.path.insert(0, WHEEL)

from pip._internal.cli.main import main  # noqa: E402

# get-pip's own flags; the wheel's pip installs only what is named.
arguments = [argument for argument in sys.argv[1:] if argument not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--no-index", "--find-links", os.path.dirname(WHEEL), *arguments]))
'''


def pinned_pip() -> str:
    """The pip version ansible-test bootstraps its virtual environments with."""
    from ansible_test._internal.host_configs import NativePythonConfig  # noqa: PLC0415  only for this
    from ansible_test._internal.python_requirements import get_venv_packages  # noqa: PLC0415

    python = NativePythonConfig(version=f"{sys.version_info[0]}.{sys.version_info[1]}", path=sys.executable)
    return get_venv_packages(python)["pip"]


def main() -> int:
    version = pinned_pip()
    wheel = f"pip-{version}-py3-none-any.whl"
    script = CACHE / f"get_pip_{version.replace('.', '_')}.py"
    CACHE.mkdir(parents=True, exist_ok=True)
    if not (CACHE / wheel).exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary", ":all:", "--dest", str(CACHE), f"pip=={version}"],
            check=True,
        )
    text = GET_PIP.format(version=version, wheel=wheel)
    if not script.exists() or script.read_text() != text:
        script.write_text(text)
        print(f"ansible_test_pip: {script} installs pip {version} from {CACHE / wheel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
