# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The stack's venv on an interpreter where one failed TLS connection breaks the others: the fix in it.

python_probe's ``openssl_error_queue`` says whether the venv's interpreter
leaks OpenSSL errors from one connection into the next (CPython gh-148594
with OpenSSL >= 3.4: Debian 13's Python; plugins/files/python/
daskhub_openssl_error_queue.py says why and how it is fixed). Where it does,
the venv gets that file and a .pth file that runs it in every process
started from the venv; where it does not, neither (a venv made again on
another interpreter loses them). Once they are written, the venv's
interpreter is asked again: a fix that does not take hold stops the play,
naming the interpreter, rather than leave a site whose users'
computations fail.
"""

from __future__ import annotations

import os

from ansible_collections.daskhub.deploy.plugins.module_utils.host import files, python_probe
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleFailure

MODULE = "daskhub_openssl_error_queue"
# A .pth line that starts with "import" is run by site at every start of the interpreter.
PTH_LINE = f"import {MODULE}; {MODULE}.install()\n"


class ErrorQueueFixError(ModuleFailure):
    """The venv's interpreter cannot be asked, or still leaks with the fix in place."""


def needed(facts: dict) -> bool:
    """Whether the interpreter python_probe described leaks; where the check could not run, assumed so."""
    leaks = facts["openssl_error_queue"]["leaks"]
    return True if leaks is None else leaks


def fix_files(facts: dict, source: str) -> dict:
    """{path: content} of the fix in the venv's site-packages (``source``: the module's text)."""
    site = facts["purelib"]
    return {os.path.join(site, f"{MODULE}.py"): source, os.path.join(site, f"{MODULE}.pth"): PTH_LINE}


def ensure(facts: dict, source: str, check_mode: bool) -> list[str]:
    """Writes or removes the fix's files as the interpreter needs; returns the paths changed (or that would be)."""
    wanted = needed(facts)
    changed = []
    try:
        for path, content in fix_files(facts, source).items():
            if wanted:
                # Read by every account that runs the stack.
                differs = files.ensure_file(path, content, 0o644, None, check_mode)[0]
            else:
                differs = files.ensure_absent(path, check_mode) is not None
            if differs:
                changed.append(path)
    except files.FilesError as err:
        raise ErrorQueueFixError(str(err), {"changed": bool(changed)}) from None
    return changed


def problem(facts: dict) -> str:
    """Why the venv's processes would still break each other's TLS connections; "" when they would not."""
    queue = facts["openssl_error_queue"]
    if not queue["leaks"] or queue["cleared"]:
        return ""
    return (
        f"{facts['base_executable']} (Python {facts['version']}, {facts['openssl']}) lets one failed TLS "
        f"connection make its thread's other connections fail (CPython gh-148594 with OpenSSL >= 3.4), and "
        f"{MODULE}.py in {facts['purelib']} did not stop it: the users' Dask computations would fail. "
        "Set daskhub_local_python to another interpreter (OpenSSL 3.0 to 3.3, or one this fix works on)."
    )


def _facts(venv_python: str, result: dict) -> dict:
    facts, why = python_probe.run(venv_python)
    if facts is None:
        raise ErrorQueueFixError(f"{venv_python} could not be asked about its TLS: {why}", result)
    return facts


def ensure_in_venv(venv_python: str, probe, source: str, check_mode: bool) -> dict:
    """The fix as the venv's interpreter needs it: {"leaks": ..., "changed": [paths]}; raises ErrorQueueFixError.

    ``probe``: a call that returns python_probe.run's answer for the venv as
    it is, or None to ask now (after an install). Asked again after a write.
    """
    facts = probe()[0] if probe else None
    facts = facts or _facts(venv_python, {"changed": False})
    changed = ensure(facts, source, check_mode)
    if changed and not check_mode:
        facts = _facts(venv_python, {"changed": True})
    # In check mode files not yet written cannot be tried; files in place can.
    why = "" if changed and check_mode else problem(facts)
    if why:
        raise ErrorQueueFixError(why, {"changed": bool(changed)})
    return {"leaks": facts["openssl_error_queue"]["leaks"], "changed": changed}
