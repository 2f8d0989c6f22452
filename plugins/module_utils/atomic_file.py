"""One way to replace a file so that readers see the old or the new content, never a part.

Used where the controller keeps the secrets store (state/secrets_disk.py)
and where the local target's files are written (host/files.py).
"""

from __future__ import annotations

import contextlib
import os
import tempfile


class TemporaryFileError(OSError):
    """The temporary file beside the target could not be created (the directory is not writable)."""


def replace_atomically(path: str, content: bytes, mode: int, uid: int | None = None) -> None:
    """Write ``content`` to a temporary file beside ``path`` and rename it over ``path``.

    The temporary file gets ``mode`` (and owner ``uid``) before any byte is
    written, so a secret is never readable by others, not even for a moment;
    the data and the rename are fsynced. Raises OSError (TemporaryFileError
    when the temporary file cannot be made).
    """
    directory = os.path.dirname(path) or "."
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise TemporaryFileError(exc.errno, exc.strerror) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if uid is not None:
                os.fchown(handle.fileno(), uid, -1)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # Persist the rename itself, not only the file's data.
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
