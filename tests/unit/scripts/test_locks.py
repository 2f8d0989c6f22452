"""The dependency locks: the controller's runtime apart from the test tools, every pin hashed.

scripts/lock.sh writes them (uv pip compile --generate-hashes; npm install
--package-lock-only); scripts/bootstrap.sh and scripts/test-deps.sh install
them with --require-hashes, the local role with npm ci.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from support.locks import REQUIREMENTS, TEST_TOOLS, normalized
from support.locks import lock as entries
from support.versions import local_versions

ROOT = Path(__file__).resolve().parents[3]
CHP_LOCK = ROOT / "roles" / "daskhub_local" / "files" / "configurable-http-proxy"
LOCKS = ["controller", "tests", "oidc-provider", "network-analyzer"]


def requirement_names(source: str) -> set[str]:
    names = set()
    for text in (REQUIREMENTS / f"{source}.in").read_text().splitlines():
        line = text.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(normalized(re.split(r"[<>=!~\[ ;]", line, maxsplit=1)[0]))
    return names


@pytest.mark.parametrize("lock", [*LOCKS, "execution-environment"])
def test_every_pin_of_a_lock_has_its_hashes_and_its_requirements(lock):
    pins = entries(lock)
    assert pins
    # The execution environment's alone: ansible-builder cannot carry hashes (scripts/lock.sh).
    if lock != "execution-environment":
        assert [name for name, (_version, hashes) in pins.items() if not hashes] == []
    assert requirement_names(lock) <= set(pins), f"requirements/{lock}.txt is older than its .in: scripts/lock.sh"


def test_the_runtime_lock_holds_no_test_tool():
    runtime = entries("controller")
    assert sorted(TEST_TOOLS & set(runtime)) == []
    assert {"ansible", "ansible-core", "kubernetes", "jmespath", "ldap3", "jsonschema", "uv"} <= set(runtime)


def test_the_test_lock_keeps_the_runtimes_versions():
    runtime, tests = entries("controller"), entries("tests")
    assert {name: version for name, (version, _hashes) in runtime.items() if tests.get(name, ("",))[0] != version} == {}
    assert set(tests) >= TEST_TOOLS


def test_the_npm_lock_installs_the_pinned_proxy():
    package = json.loads((CHP_LOCK / "package.json").read_text())
    lock = json.loads((CHP_LOCK / "package-lock.json").read_text())
    assert package["dependencies"] == {"configurable-http-proxy": local_versions()["configurable_http_proxy"]}
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert lock["packages"]["node_modules/configurable-http-proxy"]["version"] == local_versions()[
        "configurable_http_proxy"
    ]
    installed = {path: entry for path, entry in lock["packages"].items() if path}
    assert [path for path, entry in installed.items() if not entry.get("integrity", "").startswith("sha512-")] == []
    # The role runs npm ci --ignore-scripts.
    assert [path for path, entry in installed.items() if entry.get("hasInstallScript")] == []
    # No registry's address: npm ci fetches from the one a site configures, the hashes decide.
    assert [path for path, entry in installed.items() if "resolved" in entry] == []


def test_the_execution_environment_takes_the_runtime_and_no_test_tool():
    runtime, environment = entries("controller"), entries("execution-environment")
    differing = {name: pin for name, (pin, _hashes) in runtime.items() if environment.get(name, ("",))[0] != pin}
    assert differing == {}
    assert sorted(TEST_TOOLS & set(environment)) == []
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    dependencies = definition["dependencies"]
    assert dependencies["python"] == "requirements/execution-environment.txt"
    assert dependencies["ansible_core"]["package_pip"] == f"ansible-core=={runtime['ansible-core'][0]}"
    assert dependencies["ansible_runner"]["package_pip"] == f"ansible-runner=={environment['ansible-runner'][0]}"
