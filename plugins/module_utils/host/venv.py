# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target's venv: made from the right interpreter, installed once, checked every run.

The work of modules/local_venv.py (its documentation says how); ``ensure_venv``
is the one call. Commands run through ``run`` (the module's run_command: argv
-> (rc, stdout, stderr)), which keeps Ansible's own Python path out of the venv's.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shlex
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.daskhub.deploy.plugins.module_utils.host import (
    openssl_error_queue,
    python_probe,
    shared_python,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.host.module_io import Run
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleFailure

STAMP = ".daskhub-requirements.sha256"


def _venv_base(venv):
    """The interpreter a venv was made from (pyvenv.cfg), or None when unknown."""
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as handle:
            for line in handle:
                key, _unused, value = line.partition("=")
                if key.strip() == "executable":
                    return value.strip()
    except OSError:
        return None
    return None


def _normalized(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def _requirement(line):
    """(normalized name, pinned version or "") of a requirement line."""
    name = re.split(r"[\[=<>!~;\s]", line.strip(), maxsplit=1)[0]
    version = line.split("==", 1)[1].split(";")[0].strip() if "==" in line else ""
    return _normalized(name), version


def _dist_infos(venv):
    """(site-packages, [(its .dist-info entry, normalized name, version)]); site-packages is None when missing."""
    sites = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages"))
    if not sites:
        return None, []
    entries = []
    for entry in os.listdir(sites[0]):
        if entry.endswith(".dist-info"):
            name, _unused, version = entry[: -len(".dist-info")].partition("-")
            entries.append((entry, _normalized(name), version))
    return sites[0], entries


def _installed(venv):
    """({normalized name: version} of the installed packages, the first half-written one's problem or "")."""
    site, entries = _dist_infos(venv)
    if site is None:
        return {}, f"{venv} has no site-packages"
    installed = {}
    for entry, name, version in entries:
        installed[name] = version
        try:
            with open(os.path.join(site, entry, "RECORD"), encoding="utf-8") as record:
                listed = [line.split(",", 1)[0] for line in record if line.strip()]
        except OSError:
            return installed, f"{entry} has no RECORD (an install stopped midway)"
        for path in listed:
            if not os.path.lexists(os.path.join(site, path)):
                return installed, f"{entry} lists {path}, which is missing"
    return installed, ""


def _ahead(function, *args):
    """``function(*args)`` begun in a thread; returns the call that waits for it (and raises what it raised).

    A converge with nothing to do reads the venv's RECORD files (waiting on
    the disk) and asks its interpreter and the shared one (waiting on
    interpreters): begun together they overlap, on two cores. Each answer
    describes the venv before any install: it is read only then.
    """
    pool = ThreadPoolExecutor(max_workers=1)
    answer = pool.submit(function, *args)
    pool.shutdown(wait=False)
    return answer.result


def venv_problem(venv, requirements, scanned=None):
    """What is missing from the installed packages, or "" when nothing is.

    Cheap enough for every run (a few hundred milliseconds at most): it
    reads each .dist-info's RECORD and checks that the files it lists
    exist; no interpreter starts. ``scanned``: ``_installed(venv)``, when
    already read.
    """
    installed, half_written = scanned or _installed(venv)
    if half_written:
        return half_written
    for line in requirements:
        name, version = _requirement(line)
        if name not in installed:
            return f"{line.strip()} is not installed"
        if version and installed[name] != version:
            return f"{line.strip()} is installed at {installed[name]}"
    return ""


class VenvError(ModuleFailure):
    """The venv cannot be made, or fails its check."""


def check_venv(run: Run, venv_python: str, imports: list[str], commands: list[str]) -> tuple[str, str]:
    """Import the stack and run its commands: what an interrupted or broken install fails.

    Returns (the problem, "" when fine; the venv interpreter's sys.version for the stamp).
    """
    if not os.path.exists(venv_python):
        return f"{venv_python} is missing", ""
    info, problem = python_probe.run(venv_python, modules=imports)
    if problem:
        return f"{venv_python} cannot import the stack ({', '.join(imports)}): {problem}", ""
    bin_dir = os.path.dirname(venv_python)
    for command in commands:
        argv = shlex.split(command)
        argv[0] = os.path.join(bin_dir, argv[0])
        if not os.path.exists(argv[0]):
            return f"{argv[0]} is missing", ""
        rc, out, err = run(argv)
        if rc != 0:
            tail = "\n".join((err or out).strip().splitlines()[-5:])
            return f"{' '.join(argv)} failed (exit {rc}): {tail}", ""
    return "", info["sys_version"]


def _failure(venv, installer, rc, out, err):
    """The lines of a failed install that say what broke (pip's ERROR lines, uv's error report)."""
    lines = (err + "\n" + out).strip().splitlines()
    marked = [line[:600] for line in lines if line.lstrip().startswith(("ERROR", "error:", "cause:", "hint:"))]
    tail = "\n".join(marked or [line for line in lines if not line.startswith("WARNING")][-15:])
    return f"{installer} install into {venv} failed (exit {rc}):\n{tail}"


def uv_path(params: dict) -> str:
    """Where this account keeps uv of ``params["uv_version"]``: O(uv_dir)/uv-<version>, shared by its venvs."""
    base = params.get("uv_dir") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "daskhub"
    )
    return os.path.join(base, f"uv-{params['uv_version']}")


def _uv_version(run: Run, uv: str) -> str:
    rc, out, _err = run([uv, "--version"]) if os.path.exists(uv) else (1, "", "")
    return (out.split()[1:2] or [""])[0] if rc == 0 else ""


def provide_uv(run: Run, params: dict) -> str:
    """uv of the pinned version, kept beside uv's own cache: fetched once per account, not into every venv.

    A venv's pip (ensurepip) and a pip install of uv cost about 6 s of CPU
    per venv made; the venv needs neither. On a miss, uv comes through pip,
    as before, in a throwaway venv; the binary is moved into place
    atomically, so that two installs at once each find a whole one.
    """
    uv = uv_path(params)
    if _uv_version(run, uv) == params["uv_version"]:
        return uv
    try:
        os.makedirs(os.path.dirname(uv), exist_ok=True)
        bootstrap = tempfile.mkdtemp(prefix=".uv-bootstrap-", dir=os.path.dirname(uv))
    except OSError as err:
        raise VenvError(
            f"cannot keep uv in {os.path.dirname(uv)}: {err.strerror} (set uv_dir to one this account can write)",
            {"pip_ran": False, "changed": True},
        ) from None
    try:
        steps = (
            ("venv (for uv)", [params["python"], "-m", "venv", bootstrap]),
            (
                "pip (of uv)",
                [
                    os.path.join(bootstrap, "bin", "python"),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    f"uv=={params['uv_version']}",
                ],
            ),
        )
        for what, argv in steps:
            rc, out, err = run(argv)
            if rc != 0:
                raise VenvError(_failure(params["venv"], what, rc, out, err), {"pip_ran": True, "changed": True})
        staged = f"{uv}.{os.getpid()}"
        try:
            shutil.copy2(os.path.join(bootstrap, "bin", "uv"), staged)
            os.replace(staged, uv)
        except OSError as err:
            raise VenvError(f"cannot keep uv as {uv}: {err.strerror}", {"pip_ran": True, "changed": True}) from None
    finally:
        shutil.rmtree(bootstrap, ignore_errors=True)
    return uv


def _install_command(run: Run, params: dict, venv_python: str, req_path: str, uv: str) -> list[str]:
    """The command that installs the requirements: uv's pip interface (``uv``, provide_uv's) or the venv's pip."""
    if params["installer"] == "pip":
        if not glob.glob(os.path.join(params["venv"], "lib", "python3*", "site-packages", "pip")):
            # A venv that uv installed has no pip: give it its interpreter's own, as python -m venv would have.
            rc, out, err = run([venv_python, "-m", "ensurepip", "--upgrade", "--default-pip"])
            if rc != 0:
                raise VenvError(_failure(params["venv"], "ensurepip", rc, out, err), {"pip_ran": True, "changed": True})
        # pip has no exclusion: remove_excluded takes the excluded packages out after it.
        return [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "-r", req_path]
    # Copies, not hard links: the venv must not share inodes (and modes) with
    # the installing account's cache, which that account may clean at will.
    command = [
        uv,
        "pip",
        "install",
        "--python",
        venv_python,
        "--compile-bytecode",
        "--link-mode",
        "copy",
        "-r",
        req_path,
    ]
    if params["excludes"]:
        excludes_path = os.path.join(params["venv"], "excludes-daskhub.txt")
        with open(excludes_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(params["excludes"]) + "\n")
        command += ["--excludes", excludes_path]
    return command


def remove_excluded(run: Run, params: dict, venv_python: str, uv: str) -> None:
    """Uninstall the excluded packages the venv holds (pip installed them, or an install before the exclusion did)."""
    # The names only: the RECORD check of every package follows the install anyway (venv_problem).
    installed = {name for _entry, name, _version in _dist_infos(params["venv"])[1]}
    present = [name for name in params["excludes"] if _normalized(name) in installed]
    if not present:
        return
    if params["installer"] == "pip":
        command = [venv_python, "-m", "pip", "uninstall", "--disable-pip-version-check", "--yes", *present]
    else:
        command = [uv, "pip", "uninstall", "--python", venv_python, *present]
    rc, out, err = run(command)
    if rc != 0:
        tail = "\n".join((err or out).strip().splitlines()[-5:])
        raise VenvError(
            f"removing the excluded {', '.join(present)} from {params['venv']} failed (exit {rc}): {tail}",
            {"changed": True, "pip_ran": True},
        )


def install(run: Run, params: dict, requirements: str, constraints: str, create: bool) -> tuple[str, str]:
    """Create the venv when asked, install, then check it.

    Returns (the check's problem, "" when fine; the interpreter's sys.version, "" unless fine).
    """
    venv = params["venv"]
    venv_python = os.path.join(venv, "bin", "python")
    result = {"changed": True, "pip_ran": True, "created": create}
    if create:
        # uv needs no pip in the venv (provide_uv); pip installs into its own.
        without_pip = ["--without-pip"] if params["installer"] == "uv" else []
        rc, out, err = run([params["python"], "-m", "venv", "--clear", *without_pip, venv])
        if rc != 0:
            raise VenvError(f"{params['python']} -m venv {venv} failed: {(err or out).strip()}", result)
    req_path = os.path.join(venv, "requirements-daskhub.txt")
    con_path = os.path.join(venv, "constraints-daskhub.txt")
    for path, text in ((req_path, requirements), (con_path, constraints)):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    # Asked once for the install and the exclusions after it.
    uv = provide_uv(run, params) if params["installer"] == "uv" else ""
    command = _install_command(run, params, venv_python, req_path, uv)
    if constraints:
        command += ["-c", con_path]
    rc, out, err = run(command + params["extra_args"])
    if rc != 0 and not create:
        # A package an interrupted install left half written can stop the
        # installer itself (uv: "Failed to read metadata from installed
        # package"): the caller starts from an empty venv once.
        return _failure(venv, params["installer"], rc, out, err), ""
    if rc != 0:
        raise VenvError(_failure(venv, params["installer"], rc, out, err), result)
    remove_excluded(run, params, venv_python, uv)
    problem = venv_problem(venv, params["requirements"])
    if problem:
        return problem, ""
    return check_venv(run, venv_python, params["imports"], params["commands"])


def ensure_venv(run: Run, params: dict, check_mode: bool) -> dict:
    """The module's work (``params`` are its options): the result to exit with; raises VenvError.

    With ``shared_python_dest`` (as root, where the stack's accounts must run
    the interpreter) the venv is made on the interpreter shared_python
    provides there, in the same call: the two are asked on every converge.
    """
    scan = _ahead(_installed, params["venv"])
    venv_python = os.path.join(params["venv"], "bin", "python")
    probe = _ahead(python_probe.run, venv_python) if os.path.exists(venv_python) else None
    if not params.get("shared_python_dest"):
        result = _ensure_venv_on(run, params, check_mode, scan, probe)
    else:
        try:
            shared = shared_python.provide(params["python"], params["shared_python_dest"], check_mode=check_mode)
        except shared_python.SharedPythonError as err:
            raise VenvError(str(err), {"changed": False}) from None
        if shared["changed"]:
            probe = None  # the copy the venv's interpreter runs on was made again: ask that interpreter after it
        result = _ensure_venv_on(run, dict(params, python=shared["python"]), check_mode, scan, probe)
        result["shared_python"] = shared
        result["changed"] = result["changed"] or shared["changed"]
    if params.get("openssl_error_queue_fix") is not None and os.path.exists(venv_python):
        # The probe from before still describes the interpreter when nothing was installed.
        fix = openssl_error_queue.ensure_in_venv(
            venv_python,
            probe if probe and not result["changed"] else None,
            params["openssl_error_queue_fix"],
            check_mode,
        )
        result.update(openssl_error_queue=fix, changed=result["changed"] or bool(fix["changed"]))
    return result


def _ensure_venv_on(run: Run, params: dict, check_mode: bool, scan, probe) -> dict:
    venv = params["venv"]
    venv_python = os.path.join(venv, "bin", "python")
    requirements = "\n".join(params["requirements"]) + "\n"
    constraints = params["constraints"]
    installer_id = "pip" if params["installer"] == "pip" else f"uv {params['uv_version']}"
    if params["excludes"]:
        # A venv stamped before an exclusion still holds the package: a new stamp installs, then removes it.
        installer_id += " excludes " + " ".join(sorted(_normalized(name) for name in params["excludes"]))
    result = {"changed": False, "pip_ran": False, "created": False, "repaired": ""}
    if params["installer"] == "uv":
        result["uv"] = uv_path(params)

    created = not os.path.exists(venv_python)
    base = _venv_base(venv)
    if base and os.path.realpath(base) != os.path.realpath(params["python"]):
        # Another interpreter was asked for (daskhub_local_python changed):
        # rebuild the venv on it; it only holds packages.
        created = True
    version = ""
    if not created:
        info, _problem = probe() if probe else python_probe.run(venv_python)
        version = info["sys_version"] if info else ""
        created = info is None

    def stamp_of(interpreter_version):
        return hashlib.sha256(
            "\0".join([requirements, constraints, interpreter_version, installer_id]).encode()
        ).hexdigest()

    digest = stamp_of(version)
    stamp_path = os.path.join(venv, STAMP)
    try:
        with open(stamp_path, encoding="ascii") as handle:
            current = handle.read().strip()
    except OSError:
        current = ""
    if not created and current == digest:
        # The stamp says installed; the files must say so too (an install
        # killed midway, a hand-deleted package). uv and pip would take a
        # half-installed package for an installed one: rebuild.
        result["repaired"] = venv_problem(venv, params["requirements"], scan())
        if not result["repaired"]:
            return result
        created = True
    elif not created:
        # No stamp, or other pins: an install into this venv, unless a package
        # in it is half written (an install killed midway), which the
        # installer would take for installed: then straight from an empty
        # venv, not one install that the check after it would reject.
        result["repaired"] = scan()[1]
        created = bool(result["repaired"])
    result.update(changed=True, pip_ran=True, created=created)
    if check_mode:
        return result

    with contextlib.suppress(FileNotFoundError):
        os.unlink(stamp_path)  # an install that stops midway must leave no stamp behind
    problem, version = install(run, params, requirements, constraints, created)
    if problem and not created:
        # An earlier install stopped midway left packages the installer
        # takes for installed: start from an empty venv once.
        result.update(created=True, repaired=problem)
        problem, version = install(run, params, requirements, constraints, True)
    if problem:
        raise VenvError(f"the venv {venv} fails its check after the install: {problem}", result)
    with open(stamp_path, "w", encoding="ascii") as handle:
        handle.write(stamp_of(version) + "\n")
    return result
