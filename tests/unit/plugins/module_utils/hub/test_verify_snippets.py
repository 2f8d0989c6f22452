"""Verify's kernel code (hub/verify_snippets.py) and the cells hub/verify.py makes of it.

The steps that need Dask and a gateway run in the user's kernel on a real
stack (tests/integration/test_user_path.py); here runs what needs neither.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import io
import json

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import verify, verify_snippets

STEPS = {
    "environment": {"variables": list(verify.GATEWAY_VARIABLES)},
    "new_cluster": {"worker_cores": 1, "worker_memory": 2.0},
    "client_and_worker": {"timeout": 180},
    "compute": {},
    "package_versions": {"packages": list(verify.VERSIONED_PACKAGES)},
    "versions": {"packages": list(verify.VERSIONED_PACKAGES)},
    "dashboard": {},
    "manage": {"timeout": 180},
    "list_clusters": {},
    "rejected": {"options": {"image": "pangeo/base-notebook", "worker_cores": 1}},
    "stop": {"names": ["a1b2", "c3d4"]},
}


def _run_cell(cell, namespace):
    """Run a cell as the kernel would (its own globals, kept between cells); what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(cell, "<cell>", "exec"), namespace)  # noqa: S102  the project's own snippets
    return printed.getvalue()


def test_every_step_makes_a_cell_that_compiles():
    public = {
        name
        for name, func in vars(verify_snippets).items()
        if inspect.isfunction(func) and not name.startswith("_") and name != "run_step"
    }
    assert public == set(STEPS)
    for step, data in STEPS.items():
        cell = verify.snippet_cell(step, **data)
        compile(cell, f"<{step}>", "exec")
        # The data travels as one JSON literal in the call, never as code.
        call = ast.parse(cell).body[-1].value
        assert (call.func.id, call.args[0].value) == ("run_step", step)
        assert json.loads(ast.literal_eval(call.args[1])) == data


def test_the_snippets_import_dask_only_when_a_step_runs():
    assert importlib.util.find_spec("dask") is None, "this test needs a venv without dask (the controller's)"
    with pytest.raises(ModuleNotFoundError, match="dask"):
        _run_cell(verify.snippet_cell("compute"), {})


def test_a_cell_runs_and_its_result_comes_back_after_the_mark():
    packages = ["yaml", "jinja2"]
    namespace = {}
    found = verify.parse_marked(_run_cell(verify.snippet_cell("package_versions", packages=packages), namespace))
    assert found == {"yaml": yaml.__version__, "jinja2": importlib.import_module("jinja2").__version__}
    # Every cell sends the source again; what the steps keep (the cluster,
    # its client) stays in one dict of the kernel's namespace.
    namespace["_state"]()["cluster"] = "kept"
    _run_cell(verify.snippet_cell("package_versions", packages=[]), namespace)
    assert namespace[verify_snippets.STATE] == {"cluster": "kept"}


def test_data_with_quotes_and_newlines_reaches_the_step_unchanged():
    names = ["it's", 'a "name"', "two\nlines", "ünï"]
    call = ast.parse(verify.snippet_cell("stop", **{"names": names})).body[-1].value
    assert json.loads(ast.literal_eval(call.args[1])) == {"names": names}


@pytest.mark.parametrize("step", ["nope", "_state", "_gateway", "MARK"])
def test_only_the_snippets_steps_can_be_called(step):
    with pytest.raises(ValueError, match="no step"):
        verify.snippet_cell(step)


def test_parse_marked_reads_the_last_marked_line_and_names_a_missing_one():
    output = f"noise\n{verify.MARK}" + '{"a": 1}\nmore noise\n' + verify.MARK + '{"a": 2}\n'
    assert verify.parse_marked(output) == {"a": 2}
    with pytest.raises(ValueError, match="printed no result"):
        verify.parse_marked("Traceback ...")
