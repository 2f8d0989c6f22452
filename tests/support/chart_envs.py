"""The Python environments the Kubernetes target's pods run, built here once.

- The hub: each z2jh hub image's pinned packages
  (../shared/chart-repos/hub-images/k8s-hub-<chart version>.requirements.txt)
  on the image's Python: 3.12 for jupyterhub 4.4.0, 3.11 for 3.2.1.
- The gateway: dask-gateway-server of the chart's version.
- The user's server (the single-user image, which is also the worker image):
  jupyterhub-singleuser, the dask-gateway client and distributed, at the
  local target's pins (roles/daskhub_local), so verify's user path runs the
  same client code on both targets.

The tests' own tools are built the same way: JupyterHub alone at the
versions tests/support/hubs.py runs (``jupyterhub_env``), and
network-config-analyzer from its pins (``pinned_env``).

The user's server and the tests' hubs leave out what the local target's venv
leaves out (its daskhub_local_venv_excludes): they stand for that venv's
server and hub. rfc3987-syntax, which the default excludes, took 2 s of CPU
at each start of a hub or a server here (``import jupyterhub.app`` 2.9 s
with it, 1.0 s without). The hub images' environments keep every package the
image pins: the chart boot runs what the pod runs.

Each venv lives under ~/.cache/daskhub/chart-envs/ ($XDG_CACHE_HOME, or
$DASKHUB_CHART_ENVS), named after a hash of what went into it (the
requirements file's bytes, the interpreter's version), so a changed pin
builds a new one and an unchanged one is reused, by every checkout and run on
the machine (a fresh machine builds them once); pytest-xdist workers take a
file lock while building.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script (scripts/test.sh): tests/ is where `support` is found
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.versions import GATEWAY_VERSION, local_defaults, local_versions

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(
    os.environ.get("DASKHUB_CHART_ENVS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "daskhub" / "chart-envs"
)
HUB_IMAGES = REPO.parent / "shared" / "chart-repos" / "hub-images"
LOCAL_ROLE = REPO / "roles" / "daskhub_local"
# The Python each hub image runs (its Dockerfile's base image).
HUB_IMAGE_PYTHON = {"3.2.1": "3.11", "4.4.0": "3.12"}
# The Python of each dask-gateway-server image.
GATEWAY_SERVER_PYTHON = {"2024.1.0": "3.11", GATEWAY_VERSION: "3.12"}
SINGLEUSER_PYTHON = "3.12"
SINGLEUSER_PACKAGES = ("jupyterhub", "jupyterlab", "dask_gateway", "distributed", "dask", "bokeh", "dask_labextension")


class EnvUnavailable(RuntimeError):
    """This machine cannot build the environment; the message says what is missing."""


def find_python(minor: str) -> Path:
    """An interpreter of Python <minor> (e.g. "3.11") with the venv module.

    A distribution's build before pyenv's: the one the suite runs on when it
    is of that version (scripts/debian_python.py), then the system's. They
    are built as the images' Pythons are, with PGO and LTO; this machine's
    pyenv builds are not, and cost a third more CPU for the same work.
    """
    running = Path(getattr(sys, "_base_executable", sys.executable))
    candidates = [running] if f"{sys.version_info[0]}.{sys.version_info[1]}" == minor else []
    candidates += [Path(p) for p in (f"/usr/bin/python{minor}", shutil.which(f"python{minor}")) if p]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(pyenv.glob(f"{minor}.*/bin/python{minor}"), reverse=True)
    for candidate in candidates:
        if "/shims/" in str(candidate) or not candidate.exists():
            continue
        probe = subprocess.run(
            [str(candidate), "-c", "import ensurepip, venv, sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.startswith(minor + "."):
            return candidate
    raise EnvUnavailable(
        f"no Python {minor} with the venv module (pyenv install {minor}, or apt-get install python{minor}-venv)"
    )


@contextlib.contextmanager
def _locked(name: str):
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# The controller's uv (requirements/controller.txt): several times faster
# than pip at building these; pip where it is missing.
UV = Path(sys.executable).parent / "uv"


def install_commands(venv: Path, pip_args: list[str], excludes: tuple[str, ...] = ()) -> list[list[str]]:
    """``pip install <pip_args>`` into ``venv`` without ``excludes``, by the controller's uv where it has one
    (bytecode compiled, the excluded packages left out of the resolution); pip installs them, then removes them.
    """
    if UV.exists():
        command = [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--compile-bytecode"]
        if excludes:
            excludes_file = venv / "excludes.txt"
            excludes_file.write_text("\n".join(excludes) + "\n")
            command += ["--excludes", str(excludes_file)]
        return [[*command, *pip_args]]
    pip = [str(venv / "bin" / "pip"), "--disable-pip-version-check"]
    commands = [[*pip, "install", "--quiet", *pip_args]]
    if excludes:
        commands.append([*pip, "uninstall", "--quiet", "--yes", *excludes])
    return commands


def create_command(python: Path, venv: Path) -> list[str]:
    """A venv of ``python`` at ``venv``: uv's where the controller has uv, else ``python -m venv``.

    uv's has no pip in it (uv installs into it from outside): ensurepip's
    install and compile of pip took 2.6 s of CPU for each venv.
    """
    if UV.exists():
        return [str(UV), "venv", "--quiet", "--python", str(python), str(venv)]
    return [str(python), "-m", "venv", str(venv)]


def _build(name: str, python: Path, requirements: str, pip_args: list[str], excludes: tuple[str, ...] = ()) -> Path:
    """The venv <name>-<hash>: python -m venv, then the install; reused when its stamp exists.

    The hash covers the interpreter's version, ``requirements`` (the text of
    everything installed) and ``excludes``, not ``pip_args``, which name
    files by their path: every checkout on the machine shares the venv.
    """
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    left_out = "".join(f"\0exclude {package}" for package in excludes)
    digest = hashlib.sha256((version + requirements + left_out).encode()).hexdigest()[:16]
    venv = CACHE / f"{name}-{digest}"
    stamp = venv / ".daskhub-ready"
    with _locked(name):
        if stamp.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        log = CACHE / f"{name}.log"
        with open(log, "w") as out:

            def step(command: list[str]) -> None:
                done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=1500)
                if done.returncode:
                    raise RuntimeError(f"building {venv.name} failed; see {log}:\n{log.read_text()[-3000:]}")

            step(create_command(python, venv))
            # After the venv exists: uv's excludes file is written into it.
            for command in install_commands(venv, pip_args, excludes):
                step(command)
        stamp.write_text(requirements)
    return venv


def hub_env(chart_version: str) -> Path:
    """The venv of the hub image of jupyterhub chart <chart_version>, from its pinned requirements."""
    source = HUB_IMAGES / f"k8s-hub-{chart_version}.requirements.txt"
    if not source.is_file():
        raise EnvUnavailable(f"{source} is missing (../shared/chart-repos/hub-images)")
    python = find_python(HUB_IMAGE_PYTHON[chart_version])
    return _build(f"hub-{chart_version}", python, source.read_text(), ["-r", str(source)])


def gateway_env(gateway_version: str) -> Path:
    """dask-gateway-server <gateway_version> (the gateway pod's server), with the local backend's extra."""
    python = find_python(GATEWAY_SERVER_PYTHON[gateway_version])
    requirement = f"dask-gateway-server[local]=={gateway_version}\n"
    return _build(f"gateway-{gateway_version}", python, requirement, [requirement.strip()])


def singleuser_env() -> Path:
    """The user's server and the Dask workers: the local target's pinned client stack."""
    versions = local_versions()
    constraints = LOCAL_ROLE / "files" / "constraints-local.txt"
    packages = [f"{name.replace('_', '-')}=={versions[name]}" for name in SINGLEUSER_PACKAGES]
    packages[packages.index(f"dask=={versions['dask']}")] = f"dask[array]=={versions['dask']}"
    requirements = "\n".join(packages) + "\n" + constraints.read_text()
    pip_args = [*packages, "-c", str(constraints)]
    return _build("singleuser", find_python(SINGLEUSER_PYTHON), requirements, pip_args, local_venv_excludes())


def jupyterhub_env(version: str) -> Path:
    """JupyterHub <version> alone, on the controller's Python (as the local target): the hubs of support/hubs.py."""
    requirement = f"jupyterhub=={version}"
    controller = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return _build(
        f"jupyterhub-{version}", find_python(controller), requirement + "\n", [requirement], local_venv_excludes()
    )


def local_venv_excludes() -> tuple[str, ...]:
    """What the local target's venv leaves out (daskhub_local_venv_excludes)."""
    return tuple(local_defaults()["daskhub_local_venv_excludes"])


def pinned_env(name: str, pins: Path) -> Path:
    """A test tool's venv from its fully pinned requirements file (requirements/<name>.txt), on Python 3.12."""
    return _build(name, find_python("3.12"), pins.read_text(), ["--no-deps", "-r", str(pins)])


if __name__ == "__main__":  # warm the cache: python tests/support/chart_envs.py
    # An environment this machine cannot build is said and left out: the
    # tests that need it skip, naming the same reason. A failed build fails.
    for build in (
        lambda: hub_env("4.4.0"),
        lambda: hub_env("3.2.1"),
        singleuser_env,
        lambda: gateway_env(GATEWAY_VERSION),
        lambda: gateway_env("2024.1.0"),
        lambda: pinned_env("oidc-provider", REPO / "requirements" / "oidc-provider.txt"),
    ):
        try:
            print(build(), file=sys.stderr)
        except EnvUnavailable as missing:
            print(f"not built: {missing}", file=sys.stderr)
