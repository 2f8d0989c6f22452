"""Reading and rewriting an ELF binary's RUNPATH in place (module_utils/host/elf_runpath.py), on real binaries."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import elf_runpath

PYENV = "/root/.pyenv/versions/3.12.1"
PYENV_PYTHON = f"{PYENV}/bin/python3.12"
NO_RUNPATH = "/bin/ls"  # Debian builds its binaries without one


@pytest.fixture
def binary(tmp_path):
    """A copy of pyenv's python3.12 (RUNPATH: its lib directory) in tmp_path/bin."""
    (tmp_path / "bin").mkdir()
    path = tmp_path / "bin" / "python3.12"
    shutil.copy2(PYENV_PYTHON, path)
    return path


def test_the_runpath_the_linker_wrote_is_read(binary):
    assert elf_runpath.runpaths(binary) == [f"{PYENV}/lib"]
    if shutil.which("readelf"):
        dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
        assert f"Library runpath: [{PYENV}/lib]" in dynamic


def test_a_binary_without_a_runpath_has_none_and_cannot_get_one(tmp_path):
    path = tmp_path / "ls"
    shutil.copy2(NO_RUNPATH, path)
    assert elf_runpath.runpaths(path) == []
    with pytest.raises(elf_runpath.ElfError, match="has no RUNPATH or RPATH to rewrite"):
        elf_runpath.set_runpath(path, "$ORIGIN")
    assert filecmp.cmp(path, NO_RUNPATH, shallow=False)


def test_a_shorter_runpath_is_written_in_place_and_the_loader_follows_it(binary, tmp_path):
    (tmp_path / "lib").mkdir()
    shutil.copy2(f"{PYENV}/lib/libpython3.12.so.1.0", tmp_path / "lib")
    before = binary.read_bytes()

    assert elf_runpath.set_runpath(binary, "$ORIGIN/../lib") == [f"{PYENV}/lib"]

    assert elf_runpath.runpaths(binary) == ["$ORIGIN/../lib"]
    after = binary.read_bytes()
    assert len(after) == len(before)
    # Only the old string's bytes changed: the new one, then NUL padding.
    changed = [index for index, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    start = before.index(f"{PYENV}/lib".encode() + b"\0")
    assert start <= changed[0] and changed[-1] < start + len(f"{PYENV}/lib")
    assert after[start : start + len(f"{PYENV}/lib") + 1] == b"$ORIGIN/../lib".ljust(len(f"{PYENV}/lib") + 1, b"\0")
    if shutil.which("ldd"):
        # The real dynamic loader now takes libpython from beside the copy.
        libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
        assert f"libpython3.12.so.1.0 => {tmp_path}/bin/../lib/libpython3.12.so.1.0" in libraries


def test_a_longer_runpath_is_refused_and_the_file_is_left_as_it_was(binary):
    longer = f"{PYENV}/lib:/usr/local/lib"
    with pytest.raises(elf_runpath.ElfError, match=r"is longer than the old .*it can only shrink"):
        elf_runpath.set_runpath(binary, longer)
    assert filecmp.cmp(binary, PYENV_PYTHON, shallow=False)
    # As long as the old string is fine: there is room for it.
    elf_runpath.set_runpath(binary, "/" + "x" * (len(f"{PYENV}/lib") - 1))
    assert elf_runpath.runpaths(binary) == ["/" + "x" * (len(f"{PYENV}/lib") - 1)]


def test_a_nul_byte_is_refused(binary):
    with pytest.raises(elf_runpath.ElfError, match="NUL"):
        elf_runpath.set_runpath(binary, "$ORIGIN\0/lib")
    assert filecmp.cmp(binary, PYENV_PYTHON, shallow=False)


def test_files_that_are_not_elf64_little_endian_are_refused(tmp_path):
    script = tmp_path / "python-config"
    shutil.copy2(f"{PYENV}/bin/python3.12-config", script)  # a shell script
    with pytest.raises(elf_runpath.ElfError, match="not an ELF file"):
        elf_runpath.runpaths(script)
    with pytest.raises(elf_runpath.ElfError, match="not an ELF file"):
        elf_runpath.set_runpath(script, "$ORIGIN")
    # No 32-bit or big-endian binary is on this host: an ELF32 header says as much.
    elf32 = tmp_path / "elf32"
    elf32.write_bytes(b"\x7fELF\x01\x01\x01" + bytes(57))
    with pytest.raises(elf_runpath.ElfError, match=r"not an ELF64 little-endian file \(class 1, data 1\)"):
        elf_runpath.runpaths(elf32)


def test_a_truncated_binary_is_refused(binary, tmp_path):
    cut = tmp_path / "cut"
    cut.write_bytes(binary.read_bytes()[:200])
    with pytest.raises(elf_runpath.ElfError, match="truncated ELF file"):
        elf_runpath.runpaths(cut)
    assert os.path.getsize(cut) == 200
