"""module_utils/host/python_probe.py: an interpreter asked by itself, with this test's own Python and a broken one."""

from __future__ import annotations

import platform
import sys

from ansible_collections.daskhub.deploy.plugins.module_utils.host import python_probe


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
