"""The Galaxy round trip, as an operator adopts the collection.

``scripts/build_collection.py`` builds the tarball (``ansible-galaxy
collection build``, here with a fork's own URLs), ``ansible-galaxy
collection install --offline`` puts it into an empty collections path (its
dependencies, kubernetes.core and community.crypto, are the copies the
``ansible`` package bundles), and ``ansible-playbook daskhub.deploy.site
--check`` runs from there, outside this repository (no ansible.cfg), with the
installed collection's own default inventory. The tarball carries the
collection and nothing of a site's state, the tests' output or a tool's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from support.playbooks import ROOT, VENV_BIN, ansible_env, recap, run_playbook
from support.stacks import SLOTS, make_inventory, port_block

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
FORK_URLS = {
    "repository": "https://git.example.org/hep/daskhub-deploy",
    "documentation": "https://hep.example.org/daskhub/",
    "issues": "https://git.example.org/hep/daskhub-deploy/issues",
}
# What a tarball must never carry, as paths inside it (fnmatch; "*" crosses "/").
FORBIDDEN = [
    # Each site's and Molecule scenario's state: secrets stores, rendered values, backups.
    "inventories/*/state/*",
    "molecule/*/state/*",
    "build/*",
    "bench/results/*",
    "*.venv/*",
    "*.collections/*",
    "*.cache/*",
    "*.ansible/*",
    "*.pytest_cache/*",
    "*.ruff_cache/*",
    "*__pycache__/*",
    "*.pyc",
    "*node_modules/*",
    "*.tar.gz",
    "galaxy.yml",
    "changelogs/.plugin-cache.yaml",
    ".git/*",
    ".ci/*",
    ".github/*",
]
# Where the things build_ignore keeps out would be after a test run, one file each.
DECOYS = [
    "inventories/local/state/secrets.yml",
    "inventories/example-site/state/build/values.yaml",
    "molecule/default/state/secrets.yml",
    "build/test-results/junit.xml",
    "bench/results/converge.json",
    ".cache/charts/index.yaml",
    ".ansible/collections/ansible_collections/x/y/MANIFEST.json",
    "roles/daskhub_local/.ansible/tmp",
    ".pytest_cache/v/cache/lastfailed",
    "tests/.pytest_cache/v/cache/lastfailed",
    ".ruff_cache/CACHEDIR.TAG",
    "plugins/module_utils/__pycache__/yaml_io.cpython-312.pyc",
    "tests/support/node_modules/x/package.json",
    "node_modules/configurable-http-proxy/package.json",
    "changelogs/.plugin-cache.yaml",
    ".bootstrap-stamp",
    "daskhub-deploy-0.0.9.tar.gz",
    ".ci/run",
]


def run(*command: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """A command of the round trip; its output kept for the assertion's message."""
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120)


def members(tarball: Path) -> list[str]:
    with tarfile.open(tarball) as tar:
        return tar.getnames()


def forbidden(names: list[str]) -> list[str]:
    return [name for name in names if any(fnmatch(name, pattern) for pattern in FORBIDDEN)]


def summary(tarball: Path, names: list[str]) -> str:
    tops = Counter(name.split("/", 1)[0] for name in names)
    return f"{tarball.name}: {tarball.stat().st_size} bytes, {len(names)} members ({dict(sorted(tops.items()))})"


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("collection-build")
    env = {**os.environ, **{f"DASKHUB_COLLECTION_{key.upper()}": url for key, url in FORK_URLS.items()}}
    result = run(sys.executable, str(ROOT / "scripts/build_collection.py"), "--output-path", str(out), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    built = Path(result.stdout.strip().splitlines()[-1])
    assert built == out / f"daskhub-deploy-{GALAXY['version']}.tar.gz"
    return built


def test_the_tarball_holds_the_collection_and_the_forks_urls(tarball):
    names = members(tarball)
    print(summary(tarball, names))
    assert forbidden(names) == []
    for needed in (
        "MANIFEST.json",
        "FILES.json",
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "meta/runtime.yml",
        "playbooks/site.yml",
        "changelogs/changelog.yaml",
        "inventories/local/hosts.yml",
        "roles/daskhub_model/meta/argument_specs.yml",
        "plugins/modules/secrets.py",
    ):
        assert needed in names, needed
    with tarfile.open(tarball) as tar:
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
        files = {entry["name"] for entry in json.load(tar.extractfile("FILES.json"))["files"]}
    assert {key: info[key] for key in FORK_URLS} == FORK_URLS
    assert info["homepage"] == GALAXY["homepage"]  # not overridden: galaxy.yml's
    assert info["dependencies"] == GALAXY["dependencies"]
    assert (info["version"], info["license"]) == (GALAXY["version"], ["BSD-3-Clause"])
    assert files == set(names) - {"MANIFEST.json", "FILES.json"} | {"."}  # FILES.json lists the top as "."


def test_build_ignore_keeps_state_caches_and_build_output_out(tmp_path):
    """A copy of the repository with what a test run and the tools leave behind, built as it is."""
    copy = tmp_path / "deploy"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            ".collections",
            ".cache",
            "build",
            "results",
            "state",
            "__pycache__",
            "node_modules",
            ".pytest_cache",
            ".ruff_cache",
        ),
    )
    for decoy in DECOYS:
        (copy / decoy).parent.mkdir(parents=True, exist_ok=True)
        (copy / decoy).write_text("decoy\n")
    (copy / ".venv").symlink_to(VENV_BIN.parent)
    result = run(str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    names = members(tmp_path / f"daskhub-deploy-{GALAXY['version']}.tar.gz")
    assert [decoy for decoy in DECOYS if decoy in names] == []
    assert forbidden(names) == []


def test_the_installed_tarball_runs_the_site_in_check_mode(tarball, tmp_path, request):
    """What the README's "Install from Galaxy" says, in an empty collections path."""
    collections = tmp_path / "collections"
    operator = tmp_path / "operator"  # a directory of the operator's, without an ansible.cfg
    operator.mkdir()
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH=str(collections))
    del env["ANSIBLE_CONFIG"]
    galaxy = str(VENV_BIN / "ansible-galaxy")
    install = run(
        galaxy, "collection", "install", "--offline", "-p", str(collections), str(tarball), cwd=operator, env=env
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert f"daskhub.deploy:{GALAXY['version']} was installed successfully" in install.stdout
    installed = collections / "ansible_collections/daskhub/deploy"
    assert sorted(path.name for path in (collections / "ansible_collections").iterdir()) == ["daskhub"]

    # As /opt is: the preflight wants a prefix other accounts may reach (pytest's tmp_path is 0700).
    root = Path(tempfile.mkdtemp(prefix="daskhub-package-"))
    root.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    inventory = make_inventory(
        root, root / "prefix", port_block(SLOTS["scratch"]), source=installed / "inventories/local"
    )
    result = run_playbook(
        "daskhub.deploy.site", "--check", inventory=inventory, env=env, cwd=operator, merge_stderr=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-6000:]
    # No ansible.cfg and only the temp path: daskhub.deploy is the installed copy, whose local play ran.
    print(recap(result.stdout))
    assert "PLAY [Run the site on a single host]" in result.stdout
    assert recap(result.stdout)["failed"] == recap(result.stdout)["unreachable"] == 0
    assert not (root / "prefix").exists()  # check mode installed nothing
