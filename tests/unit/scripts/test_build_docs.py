"""scripts/build_docs.py: the index of the guides and the offline inventory of other collections' plugins.

The whole build runs on the real docs as the ``docs`` step of scripts/test.sh.
"""

from __future__ import annotations

import importlib.util

import pytest
from support.playbooks import ROOT

_spec = importlib.util.spec_from_file_location("daskhub_build_docs", ROOT / "scripts" / "build_docs.py")
build_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_docs)


@pytest.fixture
def source(tmp_path, monkeypatch):
    monkeypatch.setattr(build_docs, "SOURCE", tmp_path / "docs")
    monkeypatch.setattr(build_docs, "OUT", tmp_path)
    (tmp_path / "docs").mkdir()
    return tmp_path / "docs"


def _toctree(text, caption):
    block = text.split(f":caption: {caption}\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line]


def test_the_index_lists_the_known_guides_in_reading_order_then_any_other_page(source):
    for name in ("troubleshooting", "install", "zebra", "site-model", "appendix"):
        (source / f"{name}.md").write_text(f"# {name}\n")
    build_docs.write_index()
    text = (source / "index.md").read_text()
    assert _toctree(text, "Guides") == ["install", "site-model", "troubleshooting", "appendix", "zebra"]
    assert "collections/daskhub/deploy/index" in _toctree(text, "Reference")


def test_an_index_of_the_guides_own_is_kept(source):
    (source / "index.md").write_text("# Ours\n")
    build_docs.write_index()
    assert (source / "index.md").read_text() == "# Ours\n"


def test_other_collections_plugins_resolve_to_the_ansible_docs_without_the_network(source):
    sphinx_inventory = pytest.importorskip("sphinx.util.inventory")
    page = source / "collections" / "daskhub" / "deploy" / "host_facts_module.rst"
    page.parent.mkdir(parents=True)
    page.write_text(
        "See :ref:`ansible.builtin.setup <ansible_collections.ansible.builtin.setup_module>` and\n"
        ":ref:`run_lock <ansible_collections.daskhub.deploy.run_lock_module>`.\n"
    )
    inventory = build_docs.write_inventory()
    with inventory.open("rb") as stream:
        labels = sphinx_inventory.InventoryFile.load(stream, build_docs.ANSIBLE_DOCS, lambda base, uri: base + uri)
    found = labels["std:label"]
    setup = found["ansible_collections.ansible.builtin.setup_module"]
    assert setup.uri == build_docs.ANSIBLE_DOCS + "collections/ansible/builtin/setup_module.html"
    assert "ansible_collections.daskhub.deploy.run_lock_module" not in found
    assert "common_return_values" in found
