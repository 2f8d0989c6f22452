# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""What the local stack needs of an interpreter, run BY that interpreter: prints one JSON line.

shared_python.run_probe sends this file's source to the interpreter it
checks (``python -I -c <source>``): that interpreter is not the module's and
has no collection to import, so this file imports the standard library
only. It fails (ImportError) where the stack cannot run: pip's TLS (ssl), the
hub's database (sqlite3), distributed's ctypes, venv. Then it tells what
``provide`` needs to know to copy the installation.
"""

from __future__ import annotations

import ctypes  # noqa: F401  needed by distributed
import json
import os
import platform
import sqlite3  # noqa: F401  the hub's database
import ssl  # noqa: F401  pip's TLS
import sys
import sysconfig
import venv  # noqa: F401  the stack's venv


def facts() -> dict:
    var = sysconfig.get_config_var
    # The installation's paths, also when run from a venv (whose own prefix is the venv).
    paths = sysconfig.get_paths(
        vars={
            "base": sys.base_prefix,
            "installed_base": sys.base_prefix,
            "platbase": sys.base_exec_prefix,
            "installed_platbase": sys.base_exec_prefix,
        }
    )
    return {
        "version": platform.python_version(),
        "short": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "base_executable": os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable),
        "libdir": var("LIBDIR") or "",
        "instsoname": var("INSTSONAME") or "",
        "ldlibrary": var("LDLIBRARY") or "",
        "shared": bool(var("Py_ENABLE_SHARED")),
        "stdlib": paths["stdlib"],
        "platstdlib": paths["platstdlib"],
        "include": paths["include"],
    }


if __name__ == "__main__":
    print(json.dumps(facts()))
