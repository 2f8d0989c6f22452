"""The hub connection options: declared once (hub/connection.py), documented once (doc_fragments/hub_connection.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.doc_fragments.hub_connection import ModuleDocFragment
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import connection
from support.playbooks import ROOT

MODULES = ROOT / "plugins" / "modules"
# Every spelling the hub connection had before it was one; site playbooks may still use them.
OLD_SPELLINGS = {"api_url": "hub_url", "hub_api_url": "hub_url", "api_token": "hub_token", "hub_api_token": "hub_token"}
OLD_SPELLINGS["token"] = "hub_token"


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/hub/api", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/hub/api/", "http://127.0.0.1:8000"),
        ("https://example.org/jupyter/hub/api", "https://example.org/jupyter"),
        (" https://example.org/jupyter/ ", "https://example.org/jupyter"),
    ],
)
def test_the_public_url_and_the_api_root_name_the_same_hub(given, base):
    assert connection.hub_base_url(given) == base
    assert connection.hub_api_url(given) == base + "/hub/api"


def test_no_url_stays_no_url_for_the_client_to_name():
    assert connection.hub_api_url("") == ""


def _documented(fragment):
    return yaml.safe_load(fragment)["options"]


@pytest.mark.parametrize(
    ("fragment", "spec"),
    [
        # The modules of the hub group take both: the URL's fragment, then the rest.
        (
            ModuleDocFragment.URL + ModuleDocFragment.DOCUMENTATION.replace("options:", "", 1),
            connection.HUB_CONNECTION_SPEC,
        ),
        (ModuleDocFragment.URL, connection.HUB_URL_SPEC),
        (ModuleDocFragment.REQUESTS, connection.HUB_REQUEST_SPEC),
    ],
)
def test_the_fragment_documents_the_spec(fragment, spec):
    documented = _documented(fragment)
    assert set(documented) == set(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("required", False) == option.get("required", False), name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("aliases", []) == option.get("aliases", []), name


def test_every_old_spelling_is_an_alias_and_the_token_never_logged():
    spec = connection.HUB_CONNECTION_SPEC
    for old, new in OLD_SPELLINGS.items():
        assert old in spec[new]["aliases"]
    assert spec["hub_token"]["no_log"] is True
    assert set(connection.TOKEN_NAMES) == {"hub_token", "api_token", "hub_api_token", "token"}


def _module_facts(path):
    """(the fragments its DOCUMENTATION extends, whether main() uses a connection spec) of a module file."""
    tree = ast.parse(path.read_text())
    doc = next(
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION"
    )
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return yaml.safe_load(doc).get("extends_documentation_fragment") or [], names


def test_the_hub_modules_take_the_one_spec_and_the_runtime_group_lists_them():
    group = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]["hub"]
    for module in sorted(MODULES.glob("*.py")):
        fragments, names = _module_facts(module)
        fragments = [name for name in fragments if name.startswith("daskhub.deploy.hub_connection")]
        if "HUB_CONNECTION_SPEC" in names:
            requests = ["daskhub.deploy.hub_connection.requests"] if "HUB_REQUEST_SPEC" in names else []
            assert fragments == ["daskhub.deploy.hub_connection.url", "daskhub.deploy.hub_connection", *requests], (
                module.name
            )
            assert module.stem in group, module.name
        elif "HUB_URL_SPEC" in names:
            assert fragments == ["daskhub.deploy.hub_connection.url"], module.name
        else:
            assert module.stem not in group, module.name
    assert all((MODULES / f"{name}.py").is_file() for name in group)
    assert Path(MODULES / "daskhub_verify.py").read_text().count("\n") < 200
