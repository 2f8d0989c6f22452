"""The bootstrap's interpreter search and the collection version check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))

import check_collections  # noqa: E402
from support.versions import local_defaults  # noqa: E402

# A Python >= 3.12 with venv, as a stock Debian 13 or Ubuntu 24.04 has.
REAL_PYTHON = Path(sys.executable).resolve()


def find_python(tmp_path: Path, path_dirs: list[Path], **env) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environment = {
        "PATH": os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"]),
        "HOME": str(home),
        "DASKHUB_PYTHON_DIRS": str(tmp_path / "no-system-pythons"),
        **env,
    }
    return subprocess.run(
        ["bash", "-c", f". {ROOT}/scripts/find-python.sh && daskhub_find_python"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def fake_python(directory: Path, name: str, *, version_ok: bool, has_venv: bool) -> Path:
    """An interpreter that answers the two probes the way an old or venv-less Python does."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    # find-python.sh probes with `-c` (version only) and with a script on stdin (version + venv).
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-c" ]; then exit {0 if version_ok else 1}; fi\n'
        f"exit {0 if version_ok and has_venv else 1}\n"
    )
    script.chmod(0o755)
    return script


def link_python(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / name
    link.symlink_to(REAL_PYTHON)
    return link


def test_python3_on_path_like_debian_13(tmp_path):
    link = link_python(tmp_path / "bin", "python3")
    result = find_python(tmp_path, [tmp_path / "bin"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(link)


def test_pyenv_install_when_python3_is_too_old(tmp_path):
    fake_python(tmp_path / "bin", "python3", version_ok=False, has_venv=True)
    pyenv = link_python(tmp_path / "home" / ".pyenv" / "versions" / "3.12.1" / "bin", "python3")
    result = find_python(tmp_path, [tmp_path / "bin"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(pyenv)


def test_pyenv_shims_are_skipped(tmp_path):
    link_python(tmp_path / "home" / ".pyenv" / "shims", "python3")
    result = find_python(tmp_path, [tmp_path / "home" / ".pyenv" / "shims"])
    assert result.returncode == 1


def test_explicit_interpreter_wins(tmp_path):
    link_python(tmp_path / "bin", "python3")
    chosen = link_python(tmp_path / "elsewhere", "python3.12")
    result = find_python(tmp_path, [tmp_path / "bin"], DASKHUB_PYTHON=str(chosen))
    assert result.stdout.strip() == str(chosen)


def test_system_dirs_are_searched(tmp_path):
    system = tmp_path / "system"
    found = link_python(system, "python3.13")
    result = find_python(tmp_path, [], DASKHUB_PYTHON_DIRS=str(system))
    assert result.stdout.strip() == str(found)


def test_too_old_gives_a_clear_message(tmp_path):
    fake_python(tmp_path / "bin", "python3", version_ok=False, has_venv=True)
    result = find_python(tmp_path, [tmp_path / "bin"])
    assert result.returncode == 1
    assert "no Python >= 3.12" in result.stderr
    assert f"too old: {tmp_path / 'bin' / 'python3'}" in result.stderr
    assert "apt-get install python3 python3-venv" in result.stderr


def test_missing_venv_module_gives_a_clear_message(tmp_path):
    fake_python(tmp_path / "bin", "python3.12", version_ok=True, has_venv=False)
    result = find_python(tmp_path, [tmp_path / "bin"])
    assert result.returncode == 1
    assert "missing the venv/ensurepip module" in result.stderr


def test_a_venv_is_known_by_the_interpreter_it_was_made_from(tmp_path):
    """bootstrap makes .venv again when DASKHUB_PYTHON names another interpreter than the one it was made from."""
    venv = tmp_path / "venv"
    subprocess.run([str(REAL_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    link = link_python(tmp_path / "bin", "python3")
    other = fake_python(tmp_path / "other", "python3.13", version_ok=True, has_venv=True)
    environment = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}

    def made_from(python: str) -> bool:
        command = f". {ROOT}/scripts/find-python.sh && daskhub_venv_made_from {venv} {python}"
        return subprocess.run(["bash", "-c", command], env=environment, check=False).returncode == 0

    # By path, through a link, and by a command name on PATH: each resolves to the same interpreter.
    assert made_from(str(REAL_PYTHON)) and made_from(str(link)) and made_from("python3")
    assert not made_from(str(other))
    assert not made_from("python3.99")


def test_collection_ranges():
    wanted = {"kubernetes.core": ">=6.5.0,<7.0.0", "community.general": "*", "ansible.posix": ">=1.5.0"}
    assert (
        check_collections.unmet(
            wanted, {"kubernetes.core": "6.6.0", "community.general": "13.5.0", "ansible.posix": "2.2.2"}
        )
        == []
    )
    problems = check_collections.unmet(wanted, {"kubernetes.core": "6.4.1", "community.general": "1.0.0"})
    assert problems == [
        "kubernetes.core: 6.4.1 is installed, requirements.yml wants >=6.5.0,<7.0.0",
        "ansible.posix: not installed (requirements.yml wants >=1.5.0)",
    ]


def test_installed_collections_satisfy_requirements():
    # The real check, against what Ansible loads from this checkout.
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_collections.py"), str(ROOT / "requirements.yml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "kubernetes.core 6." in result.stdout


def test_check_names_the_unmet_collection(tmp_path):
    requirements = tmp_path / "requirements.yml"
    requirements.write_text("collections:\n  - name: kubernetes.core\n    version: '>=99.0.0'\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_collections.py"), str(requirements)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "kubernetes.core: 6." in result.stderr
    assert "wants >=99.0.0" in result.stderr


@pytest.mark.parametrize("mode", ["never"])
def test_install_collections_never_touches_galaxy(mode):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "install_collections.py"), "--mode", mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "bundled" in result.stdout


def test_model_reference_is_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_model_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_second_bootstrap_changes_nothing():
    stamp = ROOT / ".venv" / ".daskhub-bootstrap"
    before = stamp.stat().st_mtime_ns
    result = subprocess.run([str(ROOT / "scripts" / "bootstrap.sh")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "installing" not in result.stdout
    assert stamp.stat().st_mtime_ns == before


def test_the_bootstraps_uv_is_the_one_the_local_role_installs():
    """One uv pin: requirements/controller.txt's and daskhub_local_uv_version (the role installs it in a site's venv).

    An offline site's package mirror then carries one uv, not two.
    """
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements/controller.txt").read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    )
    assert pins["uv"].split()[0] == str(local_defaults()["daskhub_local_uv_version"])
