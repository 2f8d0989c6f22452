"""The suite's interpreter: Debian's CPython build, unpacked and patched by scripts/debian_python.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import python_probe
from support.accounts import as_nobody

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))

import debian_python  # noqa: E402

RELEASE = """\
Origin: Debian
Suite: stable
MD5Sum:
 0123456789abcdef0123456789abcdef  9679304 main/binary-amd64/Packages.xz
SHA256:
 be3d7d96a040eda0505c1808cccc67f183bbc05dff0842c50f88e6c396557412  9679304 main/binary-amd64/Packages.xz
 5a0ad1a5e4b3e1c2f3d4a5b6c7d8e9f00112233445566778899aabbccddeeff0  1234 main/binary-arm64/Packages.xz
"""

INDEX = """\
Package: python3.13
Version: 3.13.5-2+deb13u5
Depends: python3.13-minimal (= 3.13.5-2+deb13u5),
 libpython3.13-stdlib (= 3.13.5-2+deb13u5)
Description: Interactive high-level object-oriented language (version 3.13)
 Python is a high-level, interactive, object-oriented language.
Filename: pool/main/p/python3.13/python3.13_3.13.5-2+deb13u5_amd64.deb
SHA256: 00aa

Package: libc6
Version: 2.41-12+deb13u5
Filename: pool/main/g/glibc/libc6_2.41-12+deb13u5_amd64.deb
SHA256: 11bb
"""


def test_the_release_gives_the_sha256_of_each_index():
    hashes = debian_python.release_hashes(RELEASE)
    assert hashes == {
        "main/binary-amd64/Packages.xz": "be3d7d96a040eda0505c1808cccc67f183bbc05dff0842c50f88e6c396557412",
        "main/binary-arm64/Packages.xz": "5a0ad1a5e4b3e1c2f3d4a5b6c7d8e9f00112233445566778899aabbccddeeff0",
    }


def test_the_index_gives_each_packages_file_and_hash_past_folded_fields():
    packages = debian_python.stanzas(INDEX)
    assert set(packages) == {"python3.13", "libc6"}
    assert packages["python3.13"]["Filename"].endswith("python3.13_3.13.5-2+deb13u5_amd64.deb")
    assert (packages["python3.13"]["SHA256"], packages["libc6"]["SHA256"]) == ("00aa", "11bb")
    assert packages["python3.13"]["Version"] == "3.13.5-2+deb13u5"


@pytest.fixture(scope="module")
def debian_tree() -> Path:
    """The tree of the interpreter the suite runs on, or of the one installed here before."""
    base = Path(sys.base_prefix).resolve()
    if base.is_relative_to(debian_python.HOME):
        return base.parent
    if debian_python.CURRENT.is_symlink() and (debian_python.CURRENT / ".complete").is_file():
        return debian_python.CURRENT.resolve()
    pytest.skip(
        f"the suite runs on {base}, and Debian's build is not in {debian_python.HOME}: scripts/test.sh installs it "
        "where scripts/debian_python.py can (it printed why not)"
    )


def test_the_interpreter_loads_its_own_c_library_and_libraries(debian_tree):
    python = debian_python.interpreter(debian_tree)
    assert (debian_tree / ".complete").read_text().strip().replace(":", "_") == debian_tree.name
    elf = subprocess.run(
        ["patchelf", "--print-interpreter", "--print-rpath", str(python)], capture_output=True, text=True, check=True
    ).stdout.split()
    libraries = Path(elf[1])
    assert libraries.is_relative_to(debian_tree) and Path(elf[0]).parent == libraries
    # The extension modules' libraries come from the tree too (an RPATH, not a RUNPATH): ssl's, for one.
    maps = subprocess.run(
        [str(python), "-c", "import ssl; print(open('/proc/self/maps').read())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = {line.split()[-1] for line in maps.splitlines() if "/libssl.so" in line or "/libc.so" in line}
    assert loaded and all(Path(path).parent == libraries for path in loaded), loaded


def test_every_account_runs_it_and_its_venvs_get_pip_from_the_tree(debian_tree, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root: runs the interpreter as nobody")
    python = debian_python.interpreter(debian_tree)
    ran = as_nobody(python, "-c", debian_python.IMPORT_CHECK)
    assert ran.returncode == 0, ran.stderr
    tmp_path.chmod(0o755)
    venv = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True, capture_output=True)
    wheels = sorted((debian_tree / "usr" / "share" / "python-wheels").glob("pip-*.whl"))
    pip = subprocess.run([str(venv / "bin" / "pip"), "--version"], capture_output=True, text=True, check=True)
    assert pip.stdout.startswith(f"pip {wheels[-1].name.split('-')[1]} ")


def test_debians_interpreter_has_the_fault_the_local_target_fixes(debian_tree):
    """Debian 13's Python (OpenSSL 3.5): one failed TLS connection breaks the others of its thread (gh-148594).

    Asked bare (no venv, no fix): python_probe must find the leak, or the
    local target would not install the fix where it is needed. Should a later
    Debian build stop leaking, this fails to say the fix is no longer needed there.
    """
    facts, why = python_probe.run(str(debian_python.interpreter(debian_tree)))
    assert facts, why
    assert facts["openssl_error_queue"] == {"leaks": True, "cleared": False}, facts["openssl"]
