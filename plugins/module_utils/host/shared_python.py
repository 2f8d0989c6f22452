# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""An interpreter every account can run: the local target's Python, or a relocated copy of its installation.

With system accounts (or one service account) as root, notebooks and
clusters run under other accounts, which must be able to run the venv's
interpreter; the one Ansible runs often is not (a pyenv under /root, 0700).
``provide`` (called by local_venv's ``shared_python_dest``) runs the
interpreter as ``probe_user`` (host/python_probe.py); when that works it is used as it is.
Otherwise its installation is copied into ``dest`` (the binary, a shared
libpython, the standard library without site-packages and tests, the
headers), world-readable, its RUNPATH rewritten to ``$ORIGIN/../lib`` in
place; the copy is built beside ``dest``, checked as ``probe_user``, then
moved into place, and a stamp records its source so a later run copies
nothing.

Why not a relocatable standalone Python (``uv python install`` into the
prefix): uv downloads those builds (python-build-standalone) from GitHub
release assets, which sites behind a mirror of PyPI alone (and this
project's CI) cannot reach, and the operator's own Python would no longer be
the one the site runs. The copy needs nothing but what the host has; the
RUNPATH rewrite (``elf_runpath``, a few dozen lines of ELF reading) is what
lets the copied binary find its own libpython instead of the original's.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.daskhub.deploy.plugins.module_utils.host import elf_runpath, python_probe
from ansible_collections.daskhub.deploy.plugins.module_utils.host import probes as host_probes

STAMP = ".daskhub-shared-python.json"
STAMP_FORMAT = 1
# Parts of the standard library nothing here runs: tests and the Tk GUI.
SKIPPED_STDLIB = frozenset({"site-packages", "test", "idlelib", "tkinter", "turtledemo"})
NEW_LIBDIR = "$ORIGIN/../lib"


class SharedPythonError(Exception):
    """A failure to report as the module's message."""


def _account(probe_user):
    """(uid, gid) of probe_user, checking that this process may switch to it."""
    try:
        entry = pwd.getpwnam(probe_user)
    except KeyError:
        raise SharedPythonError(f"probe_user: there is no account named {probe_user!r}") from None
    if os.geteuid() not in (0, entry.pw_uid):
        raise SharedPythonError(
            f"probe_user: only root can run the interpreter as {probe_user!r} (this runs as uid {os.geteuid()})"
        )
    return entry.pw_uid, entry.pw_gid


def _inside(path, base):
    """``path`` relative to ``base``, or None when it is not below it."""
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(base))
    return None if relative == ".." or relative.startswith("../") else relative


def relocated_runpath(runpath, old_libdir, old_bindir):
    """``runpath`` with each entry inside ``old_libdir`` moved to ``$ORIGIN/../lib``; unchanged when none is."""
    entries = []
    for entry in runpath.split(":"):
        expanded = entry.replace("${ORIGIN}", old_bindir).replace("$ORIGIN", old_bindir)
        relative = _inside(expanded, old_libdir) if expanded else None
        if relative is None:
            entries.append(entry)
        else:
            entries.append(NEW_LIBDIR if relative == "." else f"{NEW_LIBDIR}/{relative}")
    return ":".join(entries)


def _skip_stdlib(top):
    def ignore(directory, names):
        # The static libpython in config-3.X-*/ only links programs that embed
        # Python (60 MB); venvs and pip never use it.
        skipped = [name for name in names if name.startswith("libpython") and name.endswith(".a")]
        return skipped + [name for name in names if name in SKIPPED_STDLIB] if directory == top else skipped

    return ignore


def _stamp(info):
    status = os.stat(info["base_executable"])
    return {
        "format": STAMP_FORMAT,
        "source": info["base_executable"],
        "version": info["version"],
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
    }


def _read_stamp(dest):
    try:
        with open(os.path.join(dest, STAMP), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _world_readable(root):
    """Directories and executables 0755, other files 0644: the account running this owns the copy."""
    paths = [root]
    for directory, dirs, files in os.walk(root):
        paths += [os.path.join(directory, name) for name in dirs + files]
    for path in paths:
        if not os.path.islink(path):
            mode = os.stat(path).st_mode
            # Every account runs this interpreter (the module's whole point).
            os.chmod(path, 0o755 if mode & 0o100 or os.path.isdir(path) else 0o644)


def build_copy(info, root):
    """Copy the installation ``info`` describes into the empty directory ``root``; the copy's binary."""
    base = info["base_prefix"]
    binary = os.path.join(root, "bin", f"python{info['short']}")
    os.makedirs(os.path.dirname(binary))
    shutil.copy2(info["base_executable"], binary)
    for alias in ("python3", "python"):
        os.symlink(os.path.basename(binary), os.path.join(root, "bin", alias))
    libdir = os.path.join(root, "lib")
    os.makedirs(libdir, exist_ok=True)
    if info["shared"]:
        library = os.path.join(info["libdir"], info["instsoname"])
        if not info["instsoname"] or not os.path.isfile(library):
            raise SharedPythonError(f"daskhub_local_python: its shared libpython {library} is missing")
        shutil.copy2(library, os.path.join(libdir, info["instsoname"]))
        link = info["ldlibrary"]
        if link and link != info["instsoname"] and os.path.islink(os.path.join(info["libdir"], link)):
            os.symlink(info["instsoname"], os.path.join(libdir, link))
    for tree in sorted({info["stdlib"], info["platstdlib"]}):
        relative = _inside(tree, base)
        if relative is None:
            raise SharedPythonError(
                f"daskhub_local_python: its standard library {tree} lies outside its prefix {base}, "
                "so a copy would not find it"
            )
        shutil.copytree(
            tree, os.path.join(root, relative), symlinks=True, ignore=_skip_stdlib(tree), dirs_exist_ok=True
        )
    os.makedirs(os.path.join(root, _inside(info["stdlib"], base), "site-packages"), exist_ok=True)
    include = _inside(info["include"], base) if info["include"] and os.path.isdir(info["include"]) else None
    if include is not None:
        # Headers, for a pip install that has to compile (a few MB).
        shutil.copytree(info["include"], os.path.join(root, include), symlinks=True)
    if info["libdir"]:
        old_bindir = os.path.dirname(info["base_executable"])
        for runpath in set(elf_runpath.runpaths(binary)):
            new = relocated_runpath(runpath, info["libdir"], old_bindir)
            if new != runpath:
                try:
                    elf_runpath.set_runpath(binary, new)
                except elf_runpath.ElfError as exc:
                    raise SharedPythonError(
                        f"daskhub_local_python: cannot relocate a copy of {info['base_executable']}: {exc}"
                    ) from None
    _world_readable(root)
    return binary


def _copy_works(binary, root, account):
    """None when ``binary`` runs as the account with ``root`` as its prefix, else why not."""
    facts, problem = python_probe.run(binary, account)
    if problem:
        return problem
    if os.path.realpath(facts["prefix"]) != os.path.realpath(root):
        return f"it takes {facts['prefix']} as its prefix, not {root}"
    return None


def _replace(built, dest):
    """Move the finished copy ``built`` to ``dest``, putting the old one back if that fails."""
    if not os.path.lexists(dest):
        os.rename(built, dest)
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.old-", dir=os.path.dirname(dest))
    os.rename(dest, old)  # onto an empty directory: Linux replaces it
    try:
        os.rename(built, dest)
    except OSError:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def provide(python, dest, probe_user="nobody", check_mode=False):
    """The module's work: a dict of ``changed`` and the documented return values.

    Raises SharedPythonError with the message to fail with.
    """
    if not os.path.isabs(dest):
        raise SharedPythonError(f"dest: must be an absolute path, got {dest!r}")
    account = _account(probe_user)
    # Asked as this account and as probe_user at once: each waits on an interpreter's start.
    with ThreadPoolExecutor(max_workers=2) as pool:
        as_us, as_account = pool.submit(python_probe.run, python), pool.submit(python_probe.run, python, account)
        (info, problem), (_facts, refused) = as_us.result(), as_account.result()
    if problem:
        raise SharedPythonError(f"daskhub_local_python: {python} does not run as it should: {problem}")
    result = {"changed": False, "python": python, "copied": False, "version": info["version"]}
    result["source"] = info["base_executable"]
    if refused is None:
        return result

    binary = os.path.join(dest, "bin", f"python{info['short']}")
    result.update(python=binary, copied=True)
    ours = os.path.isdir(dest) and (os.path.lexists(os.path.join(dest, STAMP)) or not os.listdir(dest))
    if os.path.lexists(dest) and not ours:
        raise SharedPythonError(
            f"dest: {dest} exists and was not made by this module (it has no {STAMP}); "
            "remove it or choose another directory"
        )
    if _read_stamp(dest) == _stamp(info) and _copy_works(binary, dest, account) is None:
        return result
    result["changed"] = True
    if check_mode:
        return result

    parent = os.path.dirname(dest)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    built = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.new-", dir=parent)
    try:
        copy = build_copy(info, built)
        with open(os.path.join(built, STAMP), "w", encoding="utf-8") as handle:
            json.dump(_stamp(info), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(os.path.join(built, STAMP), 0o644)
        problem = _copy_works(copy, built, account)
        if problem:
            hint = host_probes.shared_path_problem(copy)
            # Named as the copy will be called, not by the build's temporary name.
            why = (problem + (f"; {hint}" if hint else "")).replace(built, dest)
            raise SharedPythonError(
                f"daskhub_local_python: {python} cannot be run by {probe_user!r} ({refused}), "
                f"and neither can a copy of its installation in {dest} ({why})"
            )
        _replace(built, dest)
    except OSError as exc:
        raise SharedPythonError(f"dest: copying {info['base_prefix']} into {dest} failed: {exc}") from None
    finally:
        shutil.rmtree(built, ignore_errors=True)
    return result
