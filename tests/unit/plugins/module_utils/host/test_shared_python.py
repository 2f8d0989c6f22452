"""An interpreter every account can run (module_utils/host/shared_python.py), with the real pyenv Python.

The pyenv installation lies under /root (0700): nobody cannot run it, which
is the case the module exists for. The copies go under a directory of our
own in /tmp (pytest's tmp_path is below a 0700 directory, so nobody could
not reach a copy there: one test uses exactly that).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import elf_runpath
from ansible_collections.daskhub.deploy.plugins.module_utils.host import shared_python as lsp
from support.accounts import as_nobody

PYENV = "/root/.pyenv/versions/3.12.1"
PYENV_PYTHON = f"{PYENV}/bin/python3.12"
SYSTEM_PYTHON = "/usr/bin/python3"
CHECK = "import sys, ssl, sqlite3, venv; print(sys.prefix)"


def _needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: the module runs the interpreter as nobody, which only root can do")


@pytest.fixture
def shared_dir():
    """A directory every account can traverse (tmp_path's parents are 0700).

    Per test: ansible-test units runs each test in a forked child that ends
    without a module fixture's teardown, so a module-scoped directory (with
    its copy of Python) was left in /tmp by every test but the last.
    """
    _needs_root()
    path = tempfile.mkdtemp(prefix="daskhub-shared-python-", dir="/tmp")
    os.chmod(path, 0o755)  # noqa: S103 - nobody must reach the copy
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def copied(shared_dir):
    """The pyenv Python copied for the test: (dest, the module's result)."""
    dest = os.path.join(shared_dir, "python")
    return dest, lsp.provide(PYENV_PYTHON, dest)


def _pyenv_version():
    command = [PYENV_PYTHON, "-c", "import platform; print(platform.python_version())"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def test_the_pyenv_python_is_out_of_nobodys_reach():
    # What the copy is for; if this fails, the other tests prove nothing.
    _needs_root()
    with pytest.raises(PermissionError):
        as_nobody(PYENV_PYTHON, "-c", "pass")


def test_a_root_only_interpreter_is_copied_and_the_copy_runs_as_nobody(copied):
    dest, result = copied
    assert result == {
        "changed": True,
        "python": f"{dest}/bin/python3.12",
        "copied": True,
        "version": _pyenv_version(),
        "source": PYENV_PYTHON,
    }
    run = as_nobody(result["python"], "-c", CHECK)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == dest  # CPython found its prefix from the copy's location
    for alias in ("python3", "python"):
        assert os.readlink(f"{dest}/bin/{alias}") == "python3.12"
    assert elf_runpath.runpaths(result["python"]) == ["$ORIGIN/../lib"]
    assert os.path.isfile(f"{dest}/lib/libpython3.12.so.1.0")


def test_the_copy_holds_the_standard_library_without_tests_gui_or_packages(copied):
    dest, _result = copied
    stdlib = f"{dest}/lib/python3.12"
    for kept in ("ensurepip", "venv", "lib-dynload", "__pycache__", "os.py"):
        assert os.path.exists(os.path.join(stdlib, kept)), kept
    assert os.path.isfile(f"{dest}/include/python3.12/Python.h")
    for dropped in ("test", "idlelib", "tkinter", "turtledemo"):
        assert not os.path.exists(os.path.join(stdlib, dropped)), dropped
    assert os.listdir(f"{stdlib}/site-packages") == []
    config = next(name for name in os.listdir(stdlib) if name.startswith("config-3.12"))
    assert not any(name.endswith(".a") for name in os.listdir(f"{stdlib}/{config}"))
    # mtimes kept: the .pyc files still match their sources.
    source, copy = os.stat(f"{PYENV}/lib/python3.12/os.py"), os.stat(f"{stdlib}/os.py")
    assert copy.st_mtime_ns == source.st_mtime_ns
    assert os.listdir(f"{stdlib}/__pycache__") == os.listdir(f"{PYENV}/lib/python3.12/__pycache__")


def test_every_file_of_the_copy_is_roots_and_readable_by_all(copied):
    dest, _result = copied
    for directory, dirs, files in os.walk(dest):
        for name in [*dirs, *files]:
            status = os.lstat(os.path.join(directory, name))
            if stat.S_ISLNK(status.st_mode):
                continue
            assert status.st_uid == 0, name
            expected = 0o755 if stat.S_ISDIR(status.st_mode) or status.st_mode & 0o100 else 0o644
            assert stat.S_IMODE(status.st_mode) == expected, os.path.join(directory, name)


def test_a_venv_made_from_the_copy_runs_as_nobody(copied, shared_dir):
    _dest, result = copied
    venv = os.path.join(shared_dir, "venv")
    made = subprocess.run([result["python"], "-m", "venv", venv], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    run = as_nobody(f"{venv}/bin/python", "-c", CHECK)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == venv
    pip = as_nobody(f"{venv}/bin/python", "-m", "pip", "--version")
    assert pip.returncode == 0, pip.stderr
    assert f"{venv}/lib/python3.12/site-packages/pip" in pip.stdout


def test_a_second_run_with_the_same_source_copies_nothing(copied, tmp_path):
    dest, first = copied
    before = os.stat(f"{dest}/bin/python3.12")
    # The same installation, reached through a venv's python, as the controller's .venv made from it reaches it.
    subprocess.run([PYENV_PYTHON, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    for candidate in (PYENV_PYTHON, str(tmp_path / "venv" / "bin" / "python")):
        again = lsp.provide(candidate, dest)
        assert again == {**first, "changed": False}
    after = os.stat(f"{dest}/bin/python3.12")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_check_mode_reports_the_copy_and_makes_nothing(copied, shared_dir):
    dest, first = copied
    assert lsp.provide(PYENV_PYTHON, dest, check_mode=True) == {**first, "changed": False}
    fresh = os.path.join(shared_dir, "not-yet")
    before = sorted(os.listdir(shared_dir))
    result = lsp.provide(PYENV_PYTHON, fresh, check_mode=True)
    assert result == {**first, "python": f"{fresh}/bin/python3.12", "changed": True}
    assert sorted(os.listdir(shared_dir)) == before


def test_a_changed_source_replaces_the_copy(copied, shared_dir):
    dest, first = copied
    other = os.path.join(shared_dir, "replaced")
    shutil.copytree(dest, other, symlinks=True)
    stamp_path = os.path.join(other, lsp.STAMP)
    with open(stamp_path, encoding="utf-8") as handle:
        stamp = json.load(handle)
    assert stamp == {
        "format": lsp.STAMP_FORMAT,
        "source": PYENV_PYTHON,
        "version": first["version"],
        "size": os.stat(PYENV_PYTHON).st_size,
        "mtime_ns": os.stat(PYENV_PYTHON).st_mtime_ns,
    }
    # As if the copy were made from an older build of that Python.
    with open(stamp_path, "w", encoding="utf-8") as handle:
        json.dump({**stamp, "mtime_ns": stamp["mtime_ns"] - 1, "version": "3.12.0"}, handle)
    open(os.path.join(other, "left-from-the-old-copy"), "w").close()

    result = lsp.provide(PYENV_PYTHON, other)

    assert result == {**first, "python": f"{other}/bin/python3.12"}
    assert not os.path.exists(os.path.join(other, "left-from-the-old-copy"))
    with open(stamp_path, encoding="utf-8") as handle:
        assert json.load(handle) == stamp
    assert as_nobody(result["python"], "-c", CHECK).stdout.strip() == other
    # Nothing of the build or of the old copy is left beside it.
    assert not [name for name in os.listdir(shared_dir) if name.startswith(".")]


def test_an_interpreter_nobody_can_run_is_returned_as_is(shared_dir):
    dest = os.path.join(shared_dir, "unused")
    result = lsp.provide(SYSTEM_PYTHON, dest)
    assert result["python"] == SYSTEM_PYTHON
    assert (result["changed"], result["copied"]) == (False, False)
    assert result["source"] == os.path.realpath(SYSTEM_PYTHON)
    assert not os.path.lexists(dest)


def test_a_copy_that_nobody_could_reach_fails_clearly_and_leaves_nothing(tmp_path):
    _needs_root()
    # tmp_path lies below /tmp/pytest-of-root (0700).
    with pytest.raises(lsp.SharedPythonError) as failure:
        lsp.provide(PYENV_PYTHON, str(tmp_path / "python"))
    message = str(failure.value)
    assert message.startswith(f"daskhub_local_python: {PYENV_PYTHON} cannot be run by 'nobody' (")
    assert f"{tmp_path} (on the way to {tmp_path}/python/bin/python3.12) is not searchable by other users" in message
    assert os.listdir(tmp_path) == []


def test_a_directory_the_module_did_not_make_is_not_replaced(shared_dir):
    dest = os.path.join(shared_dir, "someone-elses")
    os.mkdir(dest)
    open(os.path.join(dest, "data"), "w").close()
    with pytest.raises(lsp.SharedPythonError, match=rf"^dest: {dest} exists and was not made by this module"):
        lsp.provide(PYENV_PYTHON, dest)
    assert os.listdir(dest) == ["data"]


@pytest.mark.parametrize(
    ("python", "dest", "probe_user", "message"),
    [
        (PYENV_PYTHON, "relative/python", "nobody", "dest: must be an absolute path, got 'relative/python'"),
        (
            PYENV_PYTHON,
            "python",
            "no-such-account-here",
            "probe_user: there is no account named 'no-such-account-here'",
        ),
        ("/nonexistent/python3", "python", "nobody", "daskhub_local_python: /nonexistent/python3 does not run"),
        (f"{PYENV}/bin/python3.12-config", "python", "nobody", f"daskhub_local_python: {PYENV}/bin/python3.12-config"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(shared_dir, python, dest, probe_user, message):
    before = sorted(os.listdir(shared_dir))
    with pytest.raises(lsp.SharedPythonError) as failure:
        lsp.provide(python, dest if dest.startswith("relative") else os.path.join(shared_dir, dest), probe_user)
    assert str(failure.value).startswith(message)
    assert sorted(os.listdir(shared_dir)) == before


@pytest.mark.parametrize(
    ("runpath", "expected"),
    [
        (f"{PYENV}/lib", "$ORIGIN/../lib"),
        (f"{PYENV}/lib/", "$ORIGIN/../lib"),
        (f"{PYENV}/lib/extra:/usr/local/lib", "$ORIGIN/../lib/extra:/usr/local/lib"),
        ("$ORIGIN/../lib", "$ORIGIN/../lib"),
        ("/usr/lib/other", "/usr/lib/other"),
        (f"{PYENV}/lib64", f"{PYENV}/lib64"),
    ],
)
def test_only_runpath_entries_in_the_old_library_directory_move(runpath, expected):
    assert lsp.relocated_runpath(runpath, f"{PYENV}/lib", f"{PYENV}/bin") == expected
