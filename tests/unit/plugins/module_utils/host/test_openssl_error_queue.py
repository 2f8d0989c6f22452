"""module_utils/host/openssl_error_queue.py: the fix's files in a real venv, as its interpreter needs them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import openssl_error_queue, python_probe
from support.playbooks import ROOT

SOURCE = (ROOT / "plugins" / "files" / "python" / "daskhub_openssl_error_queue.py").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory):
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(venv / "bin" / "python")


def _facts(venv_python, leaks, cleared=True):
    facts, why = python_probe.run(venv_python)
    assert facts, why
    return dict(facts, openssl_error_queue={"leaks": leaks, "cleared": cleared})


def _fixed_in(venv_python) -> bool:
    done = subprocess.run(
        [venv_python, "-c", "import ssl; print(getattr(ssl, '_daskhub_clears_openssl_errors', False))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip() == "True"


def test_a_leaking_interpreter_gets_the_fix_in_every_process_and_a_second_run_changes_nothing(venv_python):
    facts = _facts(venv_python, leaks=True)
    paths = sorted(openssl_error_queue.fix_files(facts, SOURCE))
    assert openssl_error_queue.ensure(facts, SOURCE, check_mode=True) == list(
        openssl_error_queue.fix_files(facts, SOURCE)
    )
    assert not _fixed_in(venv_python), "check mode writes nothing"

    assert sorted(openssl_error_queue.ensure(facts, SOURCE, check_mode=False)) == paths
    assert _fixed_in(venv_python)
    assert openssl_error_queue.ensure(facts, SOURCE, check_mode=False) == []

    # The venv made again on an interpreter that does not leak: the files go.
    assert sorted(openssl_error_queue.ensure(_facts(venv_python, leaks=False), SOURCE, check_mode=False)) == paths
    assert not _fixed_in(venv_python)


def test_where_the_check_cannot_run_the_fix_is_installed_all_the_same(venv_python):
    facts = _facts(venv_python, leaks=None, cleared=None)
    assert openssl_error_queue.needed(facts)
    assert openssl_error_queue.problem(facts) == ""
    openssl_error_queue.ensure(facts, SOURCE, check_mode=False)
    assert _fixed_in(venv_python)
    openssl_error_queue.ensure(_facts(venv_python, leaks=False), SOURCE, check_mode=False)


def test_ensure_in_venv_asks_the_interpreter_again_after_writing(venv_python):
    leaks = python_probe.run(venv_python)[0]["openssl_error_queue"]["leaks"]  # Debian 13's: True; OpenSSL 3.0's: False
    # Told the interpreter leaks, it writes the fix, then asks the interpreter itself.
    answer = openssl_error_queue.ensure_in_venv(
        venv_python, lambda: (_facts(venv_python, leaks=True), None), SOURCE, check_mode=False
    )
    assert answer["leaks"] is leaks and len(answer["changed"]) == 2
    assert _fixed_in(venv_python)
    # Asked itself, without a probe from before: the files stay where it leaks and go where it does not.
    answer = openssl_error_queue.ensure_in_venv(venv_python, None, SOURCE, check_mode=False)
    assert answer["leaks"] is leaks and len(answer["changed"]) == (0 if leaks else 2)
    assert _fixed_in(venv_python) is leaks
    assert openssl_error_queue.ensure_in_venv(venv_python, None, SOURCE, check_mode=False)["changed"] == []
    openssl_error_queue.ensure(_facts(venv_python, leaks=False), SOURCE, check_mode=False)


def test_a_fix_that_does_not_take_hold_is_refused_naming_the_interpreter_and_the_variable(venv_python):
    facts = _facts(venv_python, leaks=True, cleared=False)
    why = openssl_error_queue.problem(facts)
    assert facts["base_executable"] in why and facts["openssl"] in why
    assert "gh-148594" in why and "daskhub_local_python" in why
    # The files in place, the interpreter still leaking: refused, in check mode too.
    openssl_error_queue.ensure(facts, SOURCE, check_mode=False)
    for check_mode in (True, False):
        with pytest.raises(openssl_error_queue.ErrorQueueFixError, match="daskhub_local_python"):
            openssl_error_queue.ensure_in_venv(venv_python, lambda: (facts, None), SOURCE, check_mode=check_mode)
    openssl_error_queue.ensure(_facts(venv_python, leaks=False), SOURCE, check_mode=False)


def test_an_interpreter_that_cannot_be_asked_is_named(tmp_path):
    missing = str(tmp_path / "bin" / "python")
    with pytest.raises(openssl_error_queue.ErrorQueueFixError, match="could not be asked"):
        openssl_error_queue.ensure_in_venv(missing, None, SOURCE, check_mode=False)
