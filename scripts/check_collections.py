"""Check that the collections Ansible will load satisfy requirements.yml.

Ansible loads the first copy of a collection it finds on its search path
(``collections_path`` from ansible.cfg, then the ones bundled with the
``ansible`` package), so that is the copy whose version is checked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version


def load_requirements(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text()) or {}
    wanted = {}
    for entry in data.get("collections", []):
        if isinstance(entry, str):
            wanted[entry] = "*"
        else:
            wanted[entry["name"]] = str(entry.get("version", "*"))
    return wanted


def installed_collections(ansible_galaxy: str) -> dict[str, str]:
    """Return name -> version of the copy Ansible loads first."""
    result = subprocess.run(
        [ansible_galaxy, "collection", "list", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, str] = {}
    for collections in json.loads(result.stdout).values():
        for name, info in collections.items():
            found.setdefault(name, info.get("version") or "*")
    return found


def unmet(wanted: dict[str, str], found: dict[str, str]) -> list[str]:
    problems = []
    for name, version_range in wanted.items():
        if name not in found:
            problems.append(f"{name}: not installed (requirements.yml wants {version_range})")
            continue
        if version_range in ("*", ""):
            continue
        try:
            spec = SpecifierSet(version_range.replace(" ", ""))
            ok = Version(found[name]) in spec
        except (InvalidSpecifier, InvalidVersion) as err:
            problems.append(f"{name}: cannot compare {found[name]!r} with {version_range!r}: {err}")
            continue
        if not ok:
            problems.append(f"{name}: {found[name]} is installed, requirements.yml wants {version_range}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("requirements", type=Path)
    parser.add_argument(
        "--ansible-galaxy",
        default=str(Path(sys.executable).parent / "ansible-galaxy"),
        help="ansible-galaxy executable to ask (default: the one beside this Python)",
    )
    args = parser.parse_args(argv)
    wanted = load_requirements(args.requirements)
    found = installed_collections(args.ansible_galaxy)
    problems = unmet(wanted, found)
    if problems:
        print("check_collections: collection versions do not satisfy requirements.yml:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("check_collections: " + ", ".join(f"{n} {found[n]}" for n in wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
