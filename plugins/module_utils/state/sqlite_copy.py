# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A consistent copy of a live SQLite database, with SQLite's online backup API.

Stand-alone (the standard library only), so that one file serves both
targets: the modules import it (model/operations.py, the local target's
backups), and on Kubernetes roles/daskhub_operations copies this very file
into the hub pod and runs it there with the hub image's python3:

    python3 sqlite_copy.py /srv/jupyterhub/jupyterhub.sqlite /tmp/jupyterhub.sqlite
"""

from __future__ import annotations

import os
import sqlite3
import sys


def online_copy(source: str, dest: str) -> str:
    """Copy the database ``source`` to ``dest`` (mode 0600) while others may write it; returns ``dest``.

    sqlite3's backup takes the database's locks, so a hub writing at the same
    time cannot leave a torn copy (a file copy could). The copy goes to
    ``dest``.part first and is renamed, so ``dest`` is never a partial file.
    """
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no database at {source}")
    partial = dest + ".part"
    # Read-only through a URI: a missing or unreadable file is not created empty.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        os.chmod(partial, 0o600)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, dest)
    return dest


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: sqlite_copy.py SOURCE DEST\n")
        return 2
    try:
        online_copy(argv[0], argv[1])
    except (OSError, sqlite3.Error) as err:
        sys.stderr.write(f"copying {argv[0]} to {argv[1]} failed: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
