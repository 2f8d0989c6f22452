"""The guides hold together: every relative link of README.md and docs/*.md resolves, anchors included.

Anchors are GitHub's (and MyST's) heading slugs, so a link works on GitHub and
in the docs site alike; this runs without Sphinx. Also what the README
promises a newcomer: the two commands first, one screen, one click to every
guide, and no bare ``ansible-playbook`` (the guides run the venv's).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.usage import VERIFY_COMMAND

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
GUIDES = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *GUIDES]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
# A command an operator types, without the venv's path before it.
BARE_COMMAND = re.compile(
    r"(?<![\w./-])ansible-(?:playbook|vault) (?:site\.yml|playbooks/|encrypt(?:_string)? |view )\S*"
)
EXTERNAL = ("http://", "https://", "mailto:")
# The venv's ansible-playbook, as the play's closing message spells it for operators.
VENV_PLAYBOOK = VERIFY_COMMAND.split()[0]
FIRST_COMMANDS = (
    f"./scripts/bootstrap.sh && {VENV_PLAYBOOK} site.yml",
    "./scripts/test.sh",
)


def prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans (no links live there)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: links reduced to their text, lowercase, punctuation dropped, spaces to -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 for repeated headings."""
    seen: dict[str, int] = {}
    found = set()
    for _level, title in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    return [m["target"] for m in LINK.finditer(prose(path.read_text())) if not m["target"].startswith(EXTERNAL)]


def broken(path: Path) -> list[str]:
    problems = []
    for target in links(path):
        file_part, _hash, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{target}: no file {linked.relative_to(ROOT) if linked.is_relative_to(ROOT) else linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{target}: no heading with anchor #{anchor} in {linked.name}")
    return problems


def test_slugs_are_githubs():
    assert slug("What `./scripts/bootstrap.sh` does") == "what-scriptsbootstrapsh-does"
    assert slug("One `Gateway()` per notebook") == "one-gateway-per-notebook"
    assert slug("The user's data on the workers") == "the-users-data-on-the-workers"
    assert slug("HTTPS, and a site open to the network") == "https-and-a-site-open-to-the-network"


def test_a_broken_link_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nowhere) [file](missing.md) `[code](x.md)`\n")
    assert broken(page) == [
        "#nowhere: no heading with anchor #nowhere in page.md",
        f"missing.md: no file {tmp_path / 'missing.md'}",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    assert broken(page) == []


def test_the_readme_starts_with_the_two_commands_and_fits_one_screen():
    text = README.read_text()
    first_block = FENCE.search(text).group(0)
    for command in FIRST_COMMANDS:
        assert command in first_block
    assert len(text.splitlines()) <= 80, "README.md is one screen: move the details into docs/"


def test_the_readme_links_every_guide():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README)}
    assert [guide.name for guide in GUIDES if guide.resolve() not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_run_the_venvs_ansible(page):
    text = page.read_text()
    if page == README:  # the first command is where .venv is made
        text = text.replace(FIRST_COMMANDS[0], "")
    assert BARE_COMMAND.findall(text) == []
