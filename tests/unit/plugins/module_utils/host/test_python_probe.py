"""module_utils/host/python_probe.py: an interpreter asked by itself, with this test's own Python and a broken one."""

from __future__ import annotations

import json
import linecache
import os
import platform
import shlex
import subprocess
import sys

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import python_probe
from support import imports_of, python_lacking


def test_the_facts_are_the_interpreters_own():
    facts, problem = python_probe.run(sys.executable)
    assert problem is None
    assert facts["version"] == platform.python_version()
    assert facts["short"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert facts["sys_version"] == sys.version
    assert facts["base_prefix"] == sys.base_prefix


def test_the_named_modules_are_imported_and_the_first_missing_one_is_the_reason():
    facts, problem = python_probe.run(sys.executable, modules=["json", "daskhub_no_such_module", "also_missing"])
    assert facts is None
    assert problem == "ModuleNotFoundError: No module named 'daskhub_no_such_module'"


def test_an_interpreter_that_cannot_start_is_named_by_the_operating_system(tmp_path):
    facts, problem = python_probe.run(str(tmp_path / "python"))
    assert facts is None
    assert "No such file or directory" in problem


def test_an_interpreter_that_prints_no_facts_is_named_by_its_output(tmp_path):
    talker = tmp_path / "python"
    talker.write_text("#!/bin/sh\necho 'not json'\n")
    talker.chmod(0o755)
    assert python_probe.run(str(talker)) == (None, "unexpected output: 'not json'")


@pytest.mark.parametrize("needed", python_probe.NEEDED)
def test_an_interpreter_lacking_what_the_stack_needs_is_refused_naming_it(tmp_path, needed):
    lacking = tmp_path / "python"
    shim = shlex.join([sys.executable, "-I", python_lacking.__file__, needed])
    # The probe runs "python -I -c SOURCE ...": the shim drops that -I (it runs isolated itself).
    lacking.write_text(f'#!/bin/sh\nshift\nexec {shim} "$@"\n')
    lacking.chmod(0o755)
    facts, problem = python_probe.run(str(lacking))
    assert facts is None
    assert problem == f"ModuleNotFoundError: import of {needed} halted; None in sys.modules"


def test_a_module_that_sends_the_probe_does_not_import_what_the_probe_checks():
    # The modules that send the probe (preflight, venv) start faster for it.
    printed = subprocess.run(
        [sys.executable, imports_of.__file__, python_probe.__name__],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert set(python_probe.NEEDED) & set(json.loads(printed)) == set()


def test_the_source_it_sends_is_read_from_its_loader_not_through_linecache(monkeypatch):
    """inspect.getsource reads through linecache, which threads share: local_venv asks two interpreters at
    once, and where the module runs from Ansible's zip one of them once got no source ("could not get source
    code", a converge failed). Here linecache has nothing for anyone, and the probe still runs."""
    monkeypatch.setattr(linecache, "getlines", lambda *_args, **_kwargs: [])
    facts, problem = python_probe.run(sys.executable)
    assert problem is None
    assert facts["sys_version"] == sys.version
