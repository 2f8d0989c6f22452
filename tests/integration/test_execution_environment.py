"""The execution environment (execution-environment.yml): ansible-builder's build context, and the build where it can.

`ansible-builder create` renders the context without a container engine:
the Containerfile, the Python requirements (the controller's runtime on the
runtime lock's versions, no test tool), bindep.txt and the collections.
Building the image needs podman or docker and the base image's registry.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.locks import TEST_TOOLS, lock, lock_entries, versions

ROOT = Path(__file__).resolve().parents[2]
BUILDER = Path(sys.executable).parent / "ansible-builder"


def builder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BUILDER), *args, "--file", str(ROOT / "execution-environment.yml")],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=900,
    )


def test_ansible_builder_renders_the_build_context(tmp_path):
    context = tmp_path / "context"
    result = builder("create", "--context", str(context), "--output-filename", "Containerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    containerfile = (context / "Containerfile").read_text()
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile
    assert "introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    assert "check_ansible" in containerfile

    requirements = versions(lock_entries((context / "_build" / "requirements.txt").read_text()))
    runtime = versions(lock("controller"))
    assert {name: version for name, version in runtime.items() if requirements.get(name) != version} == {}
    assert sorted(TEST_TOOLS & set(requirements)) == []
    assert "ansible-runner" in requirements

    assert (context / "_build" / "bindep.txt").read_text() == (ROOT / "bindep.txt").read_text()
    assert (context / "_build" / "requirements.yml").read_text() == (ROOT / "requirements.yml").read_text()


def container_engine() -> tuple[str | None, str]:
    """(podman or docker, "") where one answers and pulls the base image, else (None, why not)."""
    base = yaml.safe_load((ROOT / "execution-environment.yml").read_text())["images"]["base_image"]["name"]
    found = [engine for engine in (shutil.which("podman"), shutil.which("docker")) if engine]
    if not found:
        return None, "no container engine (podman or docker): ansible-builder build needs one"
    for engine in found:
        if subprocess.run([engine, "info"], capture_output=True, check=False, timeout=60).returncode:
            continue
        pulled = subprocess.run([engine, "pull", base], capture_output=True, text=True, check=False, timeout=900)
        if pulled.returncode == 0:
            return engine, ""
        return None, f"{Path(engine).name} cannot pull the base image {base} (no registry): {pulled.stderr[-300:]}"
    names = ", ".join(Path(engine).name for engine in found)
    return None, f"{names} installed, but no container engine answers ({names} info failed)"


def test_ansible_builder_builds_the_image(tmp_path):
    engine, why_not = container_engine()
    if not engine:
        pytest.skip(f"{why_not}; the build context is checked by test_ansible_builder_renders_the_build_context")
    tag = "localhost/daskhub-ee-test:latest"
    result = builder("build", "--container-runtime", Path(engine).name, "--tag", tag, "--context", str(tmp_path / "c"),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    listed = subprocess.run([engine, "run", "--rm", tag, "ansible-galaxy", "collection", "list", "kubernetes.core"],
                            capture_output=True, text=True, check=False, timeout=300)
    subprocess.run([engine, "rmi", tag], capture_output=True, check=False, timeout=300)
    assert listed.returncode == 0 and "kubernetes.core" in listed.stdout, listed.stderr
