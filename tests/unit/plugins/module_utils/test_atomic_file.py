"""plugins/module_utils/atomic_file.py on a real file system."""

from __future__ import annotations

import os
import stat

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils import atomic_file


def test_the_file_is_replaced_whole_with_its_mode_and_nothing_left_beside_it(tmp_path):
    path = tmp_path / "secrets.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    atomic_file.replace_atomically(str(path), b"new", 0o600)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.stat(path).st_ino != inode, "written in place, not renamed over"
    assert [entry.name for entry in tmp_path.iterdir()] == ["secrets.json"]


def test_a_directory_that_cannot_hold_the_temporary_file_is_named_as_such(tmp_path):
    with pytest.raises(atomic_file.TemporaryFileError):
        atomic_file.replace_atomically(str(tmp_path / "absent" / "file"), b"x", 0o600)


def test_a_failed_rename_leaves_no_temporary_file(tmp_path):
    (tmp_path / "target").mkdir()  # a file cannot be renamed over a directory
    with pytest.raises(OSError):
        atomic_file.replace_atomically(str(tmp_path / "target"), b"x", 0o600)
    assert [entry.name for entry in tmp_path.iterdir()] == ["target"]
