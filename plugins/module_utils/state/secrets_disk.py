"""The secrets store's file on disk: a private directory, an exclusive lock, an atomic replace.

Writers serialise on an ``fcntl.flock`` of a sibling lock file; the new
content goes to a temporary file in the same directory that is fsynced and
``os.replace``-d over the store, so readers see either the old or the new
file, never a torn one. The store is mode 0600 and a directory made for it
0700, whatever the umask. Every failure is a SecretsStoreError naming the
store (support for state/secrets_store.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from ansible_collections.daskhub.deploy.plugins.module_utils import atomic_file
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_file import SecretsStoreError

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_parents(path: str) -> None:
    """Create the missing directories above the store ``path``, each 0700."""
    missing = []
    parent = os.path.dirname(path)
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent) if os.path.dirname(parent) != parent else ""
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise SecretsStoreError(path, f"{directory} exists and is not a directory") from None
            # A concurrent run made it; its mode is that run's business.
            continue
        except OSError as exc:
            raise SecretsStoreError(path, f"cannot create directory {directory}: {exc.strerror or exc}") from None
        # mkdir's mode is filtered by the umask; the store's directory
        # must be private whatever it is.
        os.chmod(directory, DIR_MODE)


@contextlib.contextmanager
def exclusive_lock(path: str, lock_path: str, timeout: float) -> Iterator[None]:
    """Hold the store's lock file, polling for at most ``timeout`` seconds."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise SecretsStoreError(path, f"cannot open lock file {lock_path}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Polling instead of a blocking flock, so that a hung run
                # holding the lock gives an error instead of a hang.
                if time.monotonic() >= deadline:
                    raise SecretsStoreError(
                        path, f"timed out after {timeout:g}s waiting for the lock {lock_path}"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        # Closing the descriptor releases the lock. The lock file stays:
        # unlinking it would let two runs lock two different inodes.
        os.close(fd)


def replace_atomically(path: str, content: bytes) -> None:
    """Write ``content`` (mode 0600) to a temporary file beside ``path``, fsync it and rename it over ``path``."""
    try:
        atomic_file.replace_atomically(path, content, FILE_MODE)
    except atomic_file.TemporaryFileError as exc:
        directory = os.path.dirname(path)
        raise SecretsStoreError(path, f"cannot create a temporary file in {directory}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise SecretsStoreError(path, f"cannot be written: {exc.strerror or exc}") from None
