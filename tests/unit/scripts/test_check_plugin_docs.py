"""scripts/check_plugin_docs.py: what it reads of the collection and what it counts as a problem.

The script itself runs on the real collection as the ``ansible-doc`` step of
scripts/test.sh; these tests pin its rules on small documents.
"""

from __future__ import annotations

import importlib
import importlib.util

from support.playbooks import ROOT

_spec = importlib.util.spec_from_file_location("daskhub_check_plugin_docs", ROOT / "scripts" / "check_plugin_docs.py")
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)


def test_a_return_value_without_sample_is_named_with_its_path():
    returns = {
        "path": {"type": "str", "sample": "/srv/daskhub/state/site.lock"},
        "waited": {"type": "float"},
        "releases": {
            "type": "list",
            "contains": {"name": {"type": "str", "sample": "dhub"}, "values": {"type": "dict"}},
        },
        "facts": {"type": "dict", "contains": {"secrets": {"type": "dict", "sample": {"name": "<64 hex>"}}}},
        "status": {"type": "dict", "sample": {"ok": True}, "contains": {"ok": {"type": "bool"}}},
    }
    assert check.missing_samples(returns) == ["waited", "releases.values"]


def test_i_markup_is_found_anywhere_in_a_document_and_o_markup_is_not():
    doc = {
        "doc": {
            "description": ["With O(state=absent), removes them."],
            "options": {"x": {"description": "Like I(files)."}},
        },
        "return": {"y": {"description": ["Seconds after I(timeout=30).", "C(code) and V(value)"]}},
    }
    assert check.legacy_markup(doc) == ["I(files)", "I(timeout=30)"]


def test_the_filters_read_from_the_plugin_files_are_the_ones_ansible_loads():
    loaded = {}
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        name = f"ansible_collections.daskhub.deploy.plugins.filter.{path.stem}"
        module = importlib.import_module(name)
        loaded.update({filter_name: path.name for filter_name in module.FilterModule().filters()})
    assert check.filter_names() == loaded
    documented = {path.stem for path in (ROOT / "plugins" / "filter").glob("*.yml")}
    assert documented == set(loaded)
