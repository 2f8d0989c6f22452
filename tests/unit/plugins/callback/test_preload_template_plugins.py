"""plugins/callback/preload_template_plugins.py: the tasks' workers inherit the template plugins.

A real ansible-playbook run of two tasks that each call a filter of this
collection, with every import of the collection's modules recorded with the
importing process (tests/support/import_audit). Under ansible.cfg, which
enables the callback, the module_utils the filter imports are imported by
one process, the controller, before the first worker; under a copy of
ansible.cfg without the callback, by each task's worker.
"""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.callback import preload_template_plugins
from support.playbooks import ROOT, ansible_env, recap, run_playbook

# Imported by plugins/filter/site_model.py, whose image_has_tag the tasks call.
FILTER_IMPORTS = "ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities"
TASKS = 2
IMPORT_AUDIT = Path(__file__).resolve().parents[3] / "support" / "import_audit"


@pytest.fixture
def play(tmp_path) -> Path:
    path = tmp_path / "play.yml"
    tasks = [
        {
            "name": f"Call a filter of the collection ({n})",
            "ansible.builtin.assert": {"that": "'a:1' | daskhub.deploy.image_has_tag"},
        }
        for n in range(TASKS)
    ]
    path.write_text(yaml.safe_dump([{"name": "Filters", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return path


def _importers(module: str, config: Path, play: Path, log: Path) -> set[str]:
    """The processes of one run that imported ``module``."""
    env = ansible_env(ANSIBLE_CONFIG=str(config), PYTHONPATH=str(IMPORT_AUDIT), DASKHUB_IMPORT_LOG=str(log))
    result = run_playbook("-i", "localhost,", "-c", "local", str(play), env=env)
    assert result.returncode == 0 and recap(result.stdout)["ok"] == TASKS, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr  # a callback that fails to load is only a warning
    return {line.split()[0] for line in log.read_text().splitlines() if line.split()[1] == module}


def test_the_workers_inherit_the_filters_module_utils_instead_of_importing_them(play, tmp_path):
    assert len(_importers(FILTER_IMPORTS, ROOT / "ansible.cfg", play, tmp_path / "with.log")) == 1
    # The control: the same run without the callback imports them in each task's worker.
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "ansible.cfg")
    config.remove_option("defaults", "callbacks_enabled")
    without = ROOT / f".ansible-no-preload-{tmp_path.name}.cfg"  # beside ansible.cfg: its paths are relative to it
    with without.open("w") as handle:
        config.write(handle)
    try:
        assert len(_importers(FILTER_IMPORTS, without, play, tmp_path / "without.log")) == TASKS
    finally:
        without.unlink()


def test_a_plugin_that_cannot_be_imported_is_left_to_the_task_that_calls_it(monkeypatch):
    """A library missing on the controller fails the task that calls that plugin, as without the callback."""
    missing = f"{preload_template_plugins.COLLECTION_PACKAGE}.filter.daskhub_test_no_such_plugin"
    real = preload_template_plugins.template_plugin_modules()
    monkeypatch.setattr(preload_template_plugins, "template_plugin_modules", lambda: [missing, *real])
    preload_template_plugins.preload()
    assert missing not in sys.modules
    assert all(name in sys.modules for name in real)
