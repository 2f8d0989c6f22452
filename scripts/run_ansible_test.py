"""ansible-test, from the collection's own path, offline but for PyPI.

    .venv/bin/python scripts/run_ansible_test.py sanity --python 3.12 --local  # .venv's version
    .venv/bin/python scripts/run_ansible_test.py units --python 3.12 --local tests/unit/...

The collection's path. ansible-test finds the collection from the working
directory, which must be ``.../ansible_collections/daskhub/deploy/``, and
``units`` runs pytest, which resolves every test file's real path and wants
it under that directory too. The committed link
``.collections/ansible_collections/daskhub/deploy`` (to the repository's root)
is no such directory: the kernel and pytest resolve it back to the root. So
this copies the collection (the files git tracks or would track, the link
too, so that the tests' playbooks find the collection through ansible.cfg as
in the repository) to ``build/ansible-test/ansible_collections/daskhub/deploy``
(3.5 MB, a fraction of a second) and runs ansible-test there. Paths in its reports are the
repository's. The copy is a git repository of its own with nothing
committed: ansible-test takes the files git lists there.

pip. ``ansible-test sanity`` builds a virtual environment per test, without
pip, and puts pip into it by running a get-pip script it downloads from
``ci-files.testing.ansible.com`` and keeps in
``~/.ansible/test/cache/get_pip_<version>.py`` (ansible/ansible#77304). Where
that host cannot be reached it stops: ``Python 3.12 at ".../bin/python" does
not have pip available``. Its own error says the script may be saved there by
hand; this does that, from PyPI alone: it downloads the pip wheel of the
version ansible-test pins (read from ansible-test itself, so an upgrade of
ansible-core follows) next to it, and writes there a get-pip script of our
own that installs what ansible-test names (``pip==<version>``) from that
wheel, with the wheel's own pip, and nothing from the network. The tests'
pinned requirements come from the package index as usual; the environments
stay in ``~/.ansible/test/venv`` for the next run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "ansible-test" / "ansible_collections" / "daskhub" / "deploy"
CACHE = Path("~/.ansible/test/cache").expanduser()

# Stands in for the get-pip script ansible-test would download (its docstring says how).
GET_PIP = Path(__file__).resolve().parent / "get_pip_from_wheel.py"


def pinned_pip() -> str:
    """The pip version ansible-test bootstraps its virtual environments with."""
    from ansible_test._internal.host_configs import NativePythonConfig  # noqa: PLC0415  only for this
    from ansible_test._internal.python_requirements import get_venv_packages  # noqa: PLC0415

    python = NativePythonConfig(version=f"{sys.version_info[0]}.{sys.version_info[1]}", path=sys.executable)
    return get_venv_packages(python)["pip"]


def pip_bootstrap() -> None:
    """``~/.ansible/test/cache/get_pip_<version>.py`` and the wheel it installs; nothing when both are there."""
    version = pinned_pip()
    wheel = f"pip-{version}-py3-none-any.whl"
    script = CACHE / f"get_pip_{version.replace('.', '_')}.py"
    CACHE.mkdir(parents=True, exist_ok=True)
    if not (CACHE / wheel).exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--dest",
                str(CACHE),
                f"pip=={version}",
            ],
            check=True,
        )
    if not script.exists() or script.read_bytes() != GET_PIP.read_bytes():
        shutil.copyfile(GET_PIP, script)
        print(f"run_ansible_test: {script} installs pip {version} from {CACHE / wheel}")


def collection_files() -> list[str]:
    """The collection's files: tracked or not ignored, and present."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    return sorted({path for path in listed if path and os.path.lexists(ROOT / path)})


def copy_tree() -> None:
    """The collection at TREE, afresh (ansible-test's output of the last run goes with it)."""
    shutil.rmtree(TREE.parents[2], ignore_errors=True)
    for path in collection_files():
        source, target = ROOT / path, TREE / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    # A repository of its own: ansible-test lists the files of the nearest
    # repository upwards, which would otherwise be ours, where build/ is ignored.
    subprocess.run(["git", "init", "--quiet", str(TREE)], check=True)
    # What the tests take from beside the files git lists, by link: .venv
    # (the interpreter the local target shares), .cache (the tools they
    # fetched once) and ../shared (the charts' data, see DEVELOPERS.md); the
    # first two out of ansible-test's sight.
    for name in (".venv", ".cache"):
        if (ROOT / name).exists():
            (TREE / name).symlink_to(ROOT / name)
    (TREE / ".git" / "info" / "exclude").write_text("/.venv\n/.cache\n")
    if (ROOT.parent / "shared").exists():
        (TREE.parent / "shared").symlink_to(ROOT.parent / "shared")


def main(argv: list[str]) -> int:
    pip_bootstrap()
    copy_tree()
    ansible_test = Path(sys.executable).parent / "ansible-test"
    return subprocess.run([str(ansible_test), *argv], cwd=TREE, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
