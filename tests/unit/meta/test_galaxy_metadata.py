"""galaxy.yml, requirements.yml and meta/runtime.yml agree with what the code calls and what is tested."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[3]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
REQUIREMENTS = {
    entry["name"]: entry["version"] for entry in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
}
# A collection's module, plugin or action group by its FQCN in YAML or Python ("group/" for module_defaults).
FQCN = re.compile(r"(?<![\w.])(?:group/)?([a-z_]+\.[a-z_]+)\.[a-z_][a-z0-9_]*")
SHIPPED = ["roles", "playbooks", "plugins", "site.yml", "molecule"]
# Namespaces that are not collections: Python modules and Jinja attributes that look alike.
NOT_COLLECTIONS = re.compile(
    r"^(ansible\.(module_utils|plugins|errors|utils|parsing|template|release|constants|playbook"
    r"|vars|inventory|executor|galaxy|cli|config|_internal)|[a-z_]+\.(py|yml|yaml|json|j2))$"
)


def used_collections() -> dict[str, set[str]]:
    """Collection -> the files that call one of its modules or plugins."""
    found: dict[str, set[str]] = {}
    files = [path for top in SHIPPED for path in ([ROOT / top] if (ROOT / top).is_file() else (ROOT / top).rglob("*"))]
    for path in files:
        if path.suffix not in (".yml", ".yaml", ".py", ".j2") or "state" in path.parts or "files" in path.parts:
            continue
        for match in FQCN.finditer(path.read_text(errors="replace")):
            name = match.group(1)
            if name.split(".")[0] in ("ansible", "kubernetes", "community") and not NOT_COLLECTIONS.match(name):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_galaxy_dependencies_are_the_collections_the_code_calls_with_requirements_ranges():
    used = set(used_collections()) - {"ansible.builtin"}
    assert set(GALAXY["dependencies"]) == used, used_collections()
    assert {name: REQUIREMENTS[name] for name in GALAXY["dependencies"]} == GALAXY["dependencies"]


def test_requirements_yml_lists_only_what_the_code_or_the_tests_use():
    tests = "\n".join(path.read_text() for path in (ROOT / "tests").rglob("*.py"))
    for name in set(REQUIREMENTS) - set(GALAXY["dependencies"]):
        assert f"{name}." in tests, f"requirements.yml lists {name}, which nothing uses"


def test_requires_ansible_holds_the_installed_ansible_core_and_no_untested_minor():
    spec = SpecifierSet(yaml.safe_load((ROOT / "meta/runtime.yml").read_text())["requires_ansible"])
    core = version("ansible-core")
    assert core in spec
    major, minor = (int(part) for part in core.split(".")[:2])
    assert f"{major}.{minor + 1}.0" not in spec and f"{major}.{minor - 1}.99" not in spec


def test_the_urls_are_set_and_a_license_file_ships():
    assert all(GALAXY[key].startswith("https://") for key in ("repository", "documentation", "homepage", "issues"))
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text() and GALAXY["license"] == ["BSD-3-Clause"]
