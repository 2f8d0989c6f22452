"""docs/site-model.md's generator: Ansible's documentation markup becomes Markdown, and none is left raw."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))

import gen_model_doc  # noqa: E402


def test_ansible_markup_becomes_markdown():
    text = "C(local) or V(manual), O(claim), I(may), B(never), U(https://x.org), L(the guide,https://x.org/g)"
    assert gen_model_doc.markdown(text) == (
        "`local` or `manual`, `claim`, *may*, **never**, <https://x.org>, [the guide](https://x.org/g)"
    )
    # Words that merely end in a capital before a parenthesis stay as they are.
    assert gen_model_doc.markdown("the API(s) and GPU(s)") == "the API(s) and GPU(s)"


def test_the_reference_shows_no_raw_markup():
    rendered = gen_model_doc.render()
    assert re.findall(r"\b[CVOEMIBUL]\([^)]*\)", rendered) == []
    assert "## Groups from the identity provider" in rendered  # the guide's prose, from scripts/site-model-guide.md
