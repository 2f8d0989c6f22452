"""The local target's venv installer (plugins/modules/local_venv.py), for real, from PyPI.

A small package (six) stands in for the stack; the installers are the real
pip and the real uv of the role's pin (daskhub_local_uv_version).

The module runs as the role runs it on the controller, without Ansible's
start (support.playbooks.module_work): an ansible start per call was most
of this file's CPU time. The first test also runs it through the ad-hoc
command, the way an operator would call it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ansible_collections.daskhub.deploy.plugins.module_utils.host import openssl_error_queue, python_probe
from support import chart_envs
from support.playbooks import ROOT, module_work, run_module
from support.venvs import venv_distributions
from support.versions import local_defaults

UV_VERSION = local_defaults()["daskhub_local_uv_version"]


def local_venv(venv: Path, *extra: str, requirements=("six==1.16.0",), **params):
    """The module run once, in check mode with ``"--check"``; returns (rc, result)."""
    unknown = set(extra) - {"--check"}
    assert not unknown, f"local_venv() takes only --check: {unknown}"
    args = {"venv": str(venv), "python": _python(), "requirements": list(requirements), "uv_version": UV_VERSION}
    args.update(params)
    return module_work("local_venv", args, check_mode="--check" in extra)


def _python() -> str:
    """The interpreter the controller's venv was made from (Python >= 3.12, with the venv module)."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")


def installed(venv: Path) -> str:
    return subprocess.run(
        [str(venv / "bin/python"), "-c", "import six; print(six.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def test_uv_installs_compiled_copies_once_and_check_mode_tells_a_new_pin(tmp_path):
    venv = tmp_path / "venv"
    rc, result = local_venv(venv)
    assert rc == 0, result
    assert result["changed"] and result["created"] and result["pip_ran"]
    assert installed(venv) == "1.16.0"
    # uv is the account's one (the default uv_dir), not the venv's, and the venv has no pip it does not need.
    assert result["uv"] == str(Path.home() / ".cache/daskhub" / f"uv-{UV_VERSION}"), result
    uv_version = subprocess.run([result["uv"], "--version"], capture_output=True, text=True, check=True)
    assert uv_version.stdout.split()[1] == UV_VERSION
    assert not list(venv.glob("lib/python3*/site-packages/pip")) and not (venv / "bin/uv").exists()
    site_packages = next(venv.glob("lib/python3*/site-packages"))
    assert list((site_packages / "__pycache__").glob("six.*.pyc")), "uv did not compile the bytecode"
    assert (site_packages / "six.py").stat().st_nlink == 1, "the venv shares an inode with uv's cache"
    # Nothing changed: nothing runs.
    rc, result = local_venv(venv)
    assert rc == 0 and not result["changed"] and not result["pip_ran"], result
    # The same through Ansible (the ad-hoc command), as an operator calls the module.
    rc, result, output = run_module(
        "local_venv",
        {"venv": str(venv), "python": _python(), "requirements": ["six==1.16.0"], "uv_version": UV_VERSION},
    )
    assert rc == 0 and not result["changed"] and not result["pip_ran"], output
    # A new pin: check mode tells, and installs nothing; the real run installs it.
    rc, result = local_venv(venv, "--check", requirements=("six==1.17.0",))
    assert rc == 0 and result["changed"] and result["pip_ran"] and not result["created"], result
    assert installed(venv) == "1.16.0"
    rc, result = local_venv(venv, requirements=("six==1.17.0",))
    assert rc == 0 and result["changed"], result
    assert installed(venv) == "1.17.0"


def test_pip_installs_into_a_venv_uv_made_and_a_change_of_installer_installs_again(tmp_path):
    venv = tmp_path / "venv"
    assert local_venv(venv)[0] == 0
    # The venv uv made has no pip: it gets its own first.
    rc, result = local_venv(venv, installer="pip")
    assert rc == 0 and result["changed"] and not result["created"], result
    assert "uv" not in result and installed(venv) == "1.16.0"
    assert (venv / "bin/pip").exists()
    assert not local_venv(venv, installer="pip")[1]["changed"]
    rc, result = local_venv(venv)
    assert rc == 0 and result["changed"] and not result["created"], result


def test_a_kept_uv_of_another_version_is_replaced_through_pip(tmp_path):
    """uv_dir holds uv-<version>; one that answers another version (a broken or foreign file) is fetched again."""
    uv_dir = tmp_path / "uv"
    uv_dir.mkdir()
    stale = uv_dir / f"uv-{UV_VERSION}"
    stale.write_text("#!/bin/sh\necho uv 0.0.1\n")
    stale.chmod(0o755)
    rc, result = local_venv(tmp_path / "venv", uv_dir=str(uv_dir))
    assert rc == 0 and result["uv"] == str(stale), result
    answer = subprocess.run([str(stale), "--version"], capture_output=True, text=True, check=True).stdout
    assert answer.split()[1] == UV_VERSION
    assert installed(tmp_path / "venv") == "1.16.0"
    assert [path.name for path in uv_dir.iterdir()] == [stale.name], "the throwaway venv was left behind"


def test_a_version_that_does_not_exist_is_named_and_nothing_is_stamped(tmp_path):
    venv = tmp_path / "venv"
    for installer in ("uv", "pip"):
        rc, result = local_venv(venv, installer=installer, requirements=("six==0.0.404",))
        assert rc != 0
        assert f"{installer} install into {venv} failed" in result["msg"]
        assert "six" in result["msg"].split("failed", 1)[1], result["msg"]
        assert not (venv / ".daskhub-requirements.sha256").exists()
    # The next run tries again.
    assert local_venv(venv)[1]["changed"]


def test_a_package_lost_under_a_matching_stamp_is_found_and_the_venv_rebuilt(tmp_path):
    venv = tmp_path / "venv"
    checks = {"imports": ["six"], "commands": ["python -c 'import six'"]}
    rc, result = local_venv(venv, **checks)
    assert rc == 0 and result["changed"] and not result["repaired"], result
    # What uv leaves when it is killed midway (SIGTERM during the play's
    # install): the package's .dist-info, with its RECORD, but not the
    # package. The installer would take it for installed.
    site_packages = next(venv.glob("lib/python3*/site-packages"))
    (site_packages / "six.py").unlink()
    assert installed(venv) == ""
    rc, result = local_venv(venv, "--check", **checks)
    assert rc == 0 and result["changed"] and "six.py" in result["repaired"], result
    assert installed(venv) == "", "check mode repaired the venv"
    rc, result = local_venv(venv, **checks)
    assert rc == 0 and result["created"] and "six.py" in result["repaired"], result
    assert installed(venv) == "1.16.0"
    rc, result = local_venv(venv, **checks)
    assert rc == 0 and not result["changed"], result


def test_the_stamp_is_written_only_after_the_venv_passed_its_check(tmp_path):
    venv = tmp_path / "venv"
    rc, result = local_venv(venv, imports=["six", "daskhub_no_such_module"])
    assert rc != 0
    assert "fails its check" in result["msg"] and "daskhub_no_such_module" in result["msg"], result["msg"]
    assert not (venv / ".daskhub-requirements.sha256").exists(), "a venv that failed its check was stamped"
    rc, result = local_venv(venv, commands=["no-such-command --version"])
    assert rc != 0 and "no-such-command is missing" in result["msg"], result["msg"]
    rc, result = local_venv(venv, imports=["six"])
    assert rc == 0 and result["changed"] and (venv / ".daskhub-requirements.sha256").exists(), result


def test_a_half_written_package_that_stops_the_installer_is_healed_from_an_empty_venv(tmp_path):
    """SIGTERM during the play's install can leave a .dist-info without its METADATA: uv then
    refuses to read the venv at all ("Failed to read metadata from installed package")."""
    venv = tmp_path / "venv"
    rc, result = local_venv(venv, imports=["six"])
    assert rc == 0, result
    site_packages = next(venv.glob("lib/python3*/site-packages"))
    (next(site_packages.glob("six-*.dist-info")) / "METADATA").unlink()
    (venv / ".daskhub-requirements.sha256").unlink()  # the install it stood for did not finish
    # A second package: the installer must read the venv to add it.
    rc, result = local_venv(venv, requirements=("six==1.16.0", "idna==3.7"), imports=["six", "idna"])
    assert rc == 0, result.get("msg")
    assert result["created"] and result["repaired"], result
    assert installed(venv) == "1.16.0"


def test_an_excluded_dependency_is_never_in_the_venv_whichever_installer(tmp_path):
    """jsonschema's format-nongpl extra asks for rfc3987-syntax (the role's default exclusion): uv leaves it
    out, a venv that held it from before the exclusion loses it, and so does pip's install."""
    venv = tmp_path / "venv"
    requirements = ("jsonschema[format-nongpl]==4.26.0",)
    rc, result = local_venv(venv, requirements=requirements, imports=["jsonschema"])
    assert rc == 0, result
    assert "rfc3987-syntax" in venv_distributions(venv), "the extra's dependency is the one this test excludes"
    for installer in ("uv", "pip"):
        rc, result = local_venv(
            venv, installer=installer, requirements=requirements, excludes=["rfc3987-syntax"], imports=["jsonschema"]
        )
        assert rc == 0 and result["changed"], result
        assert "rfc3987-syntax" not in venv_distributions(venv), f"{installer} left the excluded package in the venv"
        assert "jsonschema" in venv_distributions(venv)
        # The stamp holds the exclusion: nothing to do the second time.
        rc, result = local_venv(
            venv, installer=installer, requirements=requirements, excludes=["rfc3987-syntax"], imports=["jsonschema"]
        )
        assert rc == 0 and not result["changed"], result
    fresh = tmp_path / "fresh"
    rc, result = local_venv(fresh, requirements=requirements, excludes=["rfc3987-syntax"], imports=["jsonschema"])
    assert rc == 0 and result["created"], result
    assert not venv_distributions(fresh) & {"rfc3987-syntax", "lark"}, "uv installed the excluded package"


def test_the_openssl_fix_goes_exactly_where_the_interpreter_leaks_and_a_second_run_changes_nothing(tmp_path):
    """Through the module: the suite's interpreter (Debian 13's, which leaks) and pyenv's 3.12 (OpenSSL 3.0).

    pyenv's lies under /root, out of the stack accounts' reach: as root the
    venv is made on the copy shared_python provides, as the role does.
    """
    source = (ROOT / "plugins/files/python/daskhub_openssl_error_queue.py").read_text()
    pyenv_python = str(chart_envs.find_python("3.12"))
    shared = Path(tempfile.mkdtemp(prefix="daskhub-venv-fix-", dir="/tmp"))
    shared.chmod(0o755)
    seen = {}
    try:
        for name, python, extra in (
            ("suite", _python(), {}),
            ("pyenv", pyenv_python, {"shared_python_dest": str(shared / "python")} if os.geteuid() == 0 else {}),
        ):
            venv = tmp_path / name
            rc, result = local_venv(venv, python=python, openssl_error_queue_fix=source, **extra)
            assert rc == 0, result
            assert not extra or result["shared_python"]["copied"], result
            facts, why = python_probe.run(str(venv / "bin/python"))
            assert facts, why
            leaks = seen[name] = facts["openssl_error_queue"]["leaks"]
            assert result["openssl_error_queue"]["leaks"] is leaks and facts["openssl_error_queue"]["cleared"], facts
            fix_files = openssl_error_queue.fix_files(facts, source)
            assert [Path(path).exists() for path in fix_files] == [leaks, leaks], result
            rc, again = local_venv(venv, python=python, openssl_error_queue_fix=source, **extra)
            assert rc == 0 and not again["changed"] and again["openssl_error_queue"]["changed"] == [], again
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert seen["pyenv"] is False, "pyenv's 3.12 (OpenSSL 3.0) does not leak"
    if Path(sys.base_prefix).resolve().is_relative_to("/opt/debian-python"):
        assert seen["suite"] is True, "Debian 13's Python leaks: the suite's stacks run with the fix"
