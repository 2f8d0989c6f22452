"""The changelog: valid fragments, and CHANGELOG.md as antsibull-changelog generates it.

Fragments in changelogs/fragments/ wait for the next release; ``antsibull-changelog
release`` moves them into changelogs/changelog.yaml and writes CHANGELOG.md
from it (DEVELOPERS.md, "Changelog"). A hand edit of CHANGELOG.md, or a
changelog.yaml changed without regenerating it, fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
ANTSIBULL_CHANGELOG = str(VENV_BIN / "antsibull-changelog")


def changelog(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [ANTSIBULL_CHANGELOG, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def test_the_fragments_and_changelog_yaml_pass_antsibull_changelogs_lint():
    result = changelog("lint")  # every fragment in changelogs/fragments/
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    result = changelog("lint-changelog-yaml", "changelogs/changelog.yaml")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_changelog_md_is_what_changelog_yaml_generates(tmp_path):
    generated = tmp_path / "CHANGELOG.md"
    result = changelog("generate", "--output", str(generated), "--output-format", "md")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (ROOT / "CHANGELOG.md").read_text() == generated.read_text(), (
        "CHANGELOG.md differs from what changelogs/changelog.yaml generates: "
        "run antsibull-changelog generate (DEVELOPERS.md, Changelog)"
    )


def test_galaxy_yml_carries_a_semantic_version_no_older_than_the_last_release():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    releases = yaml.safe_load((ROOT / "changelogs/changelog.yaml").read_text())["releases"]
    version = Version(galaxy["version"])
    assert str(version) == galaxy["version"] and len(version.release) == 3, galaxy["version"]
    assert version >= max(Version(release) for release in releases)
