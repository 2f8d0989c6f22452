"""module_utils/host/venv.py, the work of modules/local_venv.py, on real venvs without installing anything.

What an install from PyPI does is tests/integration/test_local_venv.py; here
the cheap check every run makes (the files each RECORD lists), the venv's
import-and-command check, and what check mode decides, all on real files
and real interpreters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import venv as host_venv

SITE = Path(sysconfig.get_paths()["purelib"])  # the test venv's own, with six installed


def run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def never(argv):
    raise AssertionError(f"check mode ran {argv}")


def _params(venv, python, requirements, installer="pip", uv_version=None):
    """The module's options for ensure_venv, nothing to import or run after the install."""
    return {
        "venv": venv,
        "python": python,
        "requirements": requirements,
        "constraints": "",
        "extra_args": [],
        "excludes": [],
        "installer": installer,
        "uv_version": uv_version,
        "imports": [],
        "commands": [],
    }


@pytest.fixture
def venv(tmp_path):
    """A real venv (no pip) holding a copy of the installed six: its module and its .dist-info."""
    root = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = next(root.glob("lib/python3*/site-packages"))
    shutil.copy2(SITE / "six.py", site / "six.py")
    dist_info = next(SITE.glob("six-*.dist-info"))
    shutil.copytree(dist_info, site / dist_info.name)
    return root, site, dist_info.name.removeprefix("six-").removesuffix(".dist-info")


def test_a_complete_venv_has_no_problem_and_a_missing_or_other_pin_is_named(venv):
    root, _site, version = venv
    assert host_venv.venv_problem(str(root), [f"six=={version}"]) == ""
    assert host_venv.venv_problem(str(root), ["Six"]) == "", "names compare normalized, without a pin"
    assert host_venv.venv_problem(str(root), ["six==0.1"]) == f"six==0.1 is installed at {version}"
    assert host_venv.venv_problem(str(root), ["no-such-dist==1.0"]) == "no-such-dist==1.0 is not installed"


def test_a_file_an_interrupted_install_did_not_write_is_found(venv):
    root, site, version = venv
    (site / "six.py").unlink()
    assert (
        host_venv.venv_problem(str(root), [f"six=={version}"])
        == f"six-{version}.dist-info lists six.py, which is missing"
    )
    (site / f"six-{version}.dist-info" / "RECORD").unlink()
    assert "has no RECORD (an install stopped midway)" in host_venv.venv_problem(str(root), [])
    assert host_venv.venv_problem(str(root / "nowhere"), []).endswith("has no site-packages")


def test_the_check_imports_and_runs_the_commands_of_the_venvs_bin(venv):
    root, _site, _version = venv
    python = str(root / "bin" / "python")
    problem, version = host_venv.check_venv(run, python, ["six", "json"], ["python -c pass"])
    # The interpreter's whole build string, for the stamp: a rebuilt interpreter differs there.
    assert problem == "" and version == sys.version, version
    problem, version = host_venv.check_venv(run, python, ["json", "no_such_module"], [])
    assert problem == (
        f"{python} cannot import the stack (json, no_such_module): "
        "ModuleNotFoundError: No module named 'no_such_module'"
    )
    assert version == ""
    assert host_venv.check_venv(run, python, [], ["jupyterhub --version"]) == (f"{root}/bin/jupyterhub is missing", "")
    assert host_venv.check_venv(run, str(root / "gone" / "python"), ["six"], []) == (
        f"{root}/gone/python is missing",
        "",
    )


def test_check_mode_reports_a_new_venv_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    params = _params(str(tmp_path / "venv"), sys.executable, ["six==1.17.0"], installer="uv", uv_version="0.0.0")
    result = host_venv.ensure_venv(never, params, check_mode=True)
    # uv's place by default: the account's cache, as uv's own cache.
    uv = str(tmp_path / "cache/daskhub/uv-0.0.0")
    assert result == {"changed": True, "pip_ran": True, "created": True, "repaired": "", "uv": uv}
    assert not (tmp_path / "venv").exists() and not (tmp_path / "cache").exists()
    assert host_venv.uv_path({**params, "uv_dir": "/srv/tools"}) == "/srv/tools/uv-0.0.0"


def _making_venvs(answer):
    """A ``run`` that makes each venv it is asked for and answers ``answer`` to any other command; and its record."""
    ran = []

    def run(argv):
        ran.append(argv)
        if argv[1:3] == ["-m", "venv"]:
            os.makedirs(argv[-1], exist_ok=True)
            return 0, "", ""
        return answer

    return run, ran


def test_a_uv_that_cannot_be_fetched_fails_naming_pip_and_leaves_no_throwaway_venv(tmp_path):
    params = _params(str(tmp_path / "venv"), sys.executable, ["six"], installer="uv", uv_version="0.0.0")
    params["uv_dir"] = str(tmp_path / "tools")
    pip_refuses, ran = _making_venvs((1, "", "ERROR: No matching distribution found for uv==0.0.0\n"))
    refusal = r"pip \(of uv\) install into \S+ failed \(exit 1\):\nERROR: No matching distribution"
    with pytest.raises(host_venv.VenvError, match=refusal):
        host_venv.ensure_venv(pip_refuses, params, check_mode=False)
    # The venv was made without pip (uv needs none); the throwaway venv for uv is gone.
    assert ran[0] == [sys.executable, "-m", "venv", "--clear", "--without-pip", params["venv"]]
    assert os.listdir(tmp_path / "tools") == []


def test_a_venv_that_cannot_be_created_fails_with_the_interpreters_words(tmp_path):
    params = _params(str(tmp_path / "venv"), str(tmp_path / "no-python"), [], installer="pip")

    def refused(argv):
        return 1, "", "Error: no such interpreter\n"

    with pytest.raises(host_venv.VenvError) as failure:
        host_venv.ensure_venv(refused, params, check_mode=False)
    assert str(failure.value) == f"{tmp_path}/no-python -m venv {tmp_path}/venv failed: Error: no such interpreter"
    assert failure.value.result == {"changed": True, "pip_ran": True, "created": True}


def test_an_unstamped_venv_with_a_half_written_package_is_rebuilt_from_empty_at_once(venv):
    """After an install killed midway (no stamp, a file missing), check mode already says the venv is made anew:
    the real run starts from an empty venv instead of first installing into the broken one."""
    root, site, version = venv
    (site / "six.py").unlink()
    params = _params(str(root), sys.executable, [f"six=={version}"], installer="pip")
    result = host_venv.ensure_venv(run, params, check_mode=True)
    assert result["created"] is True and result["changed"] is True
    assert result["repaired"] == f"six-{version}.dist-info lists six.py, which is missing"
    (site / "six.py").write_text("")  # whole again: an unstamped venv is installed into, not rebuilt
    result = host_venv.ensure_venv(run, params, check_mode=True)
    assert result["created"] is False and result["repaired"] == ""


def test_the_record_scan_read_ahead_fails_where_its_answer_is_read(venv, monkeypatch):
    """The RECORD scan runs in a thread beside the interpreter probes; an error of it is the module's, not lost."""
    root, _site, version = venv

    def unreadable(path):
        raise PermissionError(f"{path}: unreadable")

    monkeypatch.setattr(host_venv, "_installed", unreadable)
    params = _params(str(root), sys.executable, [f"six=={version}"], installer="pip")
    with pytest.raises(PermissionError, match="unreadable"):
        host_venv.ensure_venv(run, params, check_mode=True)


def test_a_uv_dir_this_account_cannot_write_is_named_before_pip_or_uv_runs(tmp_path):
    (tmp_path / "plain").write_text("a file, not a directory")
    params = _params(str(tmp_path / "venv"), sys.executable, ["six"], installer="uv", uv_version="0.0.0")
    params["uv_dir"] = str(tmp_path / "plain/tools")
    record, ran = _making_venvs((0, "", ""))
    with pytest.raises(host_venv.VenvError, match=f"cannot keep uv in {tmp_path}/plain/tools: Not a directory"):
        host_venv.ensure_venv(record, params, check_mode=False)
    assert [argv[1:3] for argv in ran] == [["-m", "venv"]]  # the venv only: no pip, no uv ran
