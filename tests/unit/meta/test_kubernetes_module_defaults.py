"""The Kubernetes connection is set once per play, with kubernetes.core's own action groups.

Every play that reaches a kubernetes.core module (through its roles, its
include_role/import_role with tasks_from, and their include_tasks) sets
``module_defaults`` for ``group/kubernetes.core.k8s`` and
``group/kubernetes.core.helm`` to daskhub_kubernetes_kubeconfig and
daskhub_kubernetes_context; no task repeats them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
GROUPS = ("group/kubernetes.core.k8s", "group/kubernetes.core.helm")
CONNECTION = {
    "kubeconfig": "{{ daskhub_kubernetes_kubeconfig | default(omit, true) }}",
    "context": "{{ daskhub_kubernetes_context | default(omit, true) }}",
}


@functools.cache
def load(path: Path):
    """A YAML file of the repository, parsed once (collection walks the same task files for every play)."""
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or []


# The playbooks (molecule.yml, a scenario's settings, is the one mapping there).
PLAYBOOKS = sorted(
    path
    for path in [*ROOT.glob("playbooks/*.yml"), *ROOT.glob("molecule/*/*.yml"), ROOT / "site.yml"]
    if isinstance(load(path), list)
)
# {{ daskhub_target }} in a task file's name: either target's file.
TARGETS = ("kubernetes", "local")


def task_lists(node) -> list[list]:
    """The task lists inside a play or a task (block, rescue, always)."""
    found = []
    for key in ("pre_tasks", "tasks", "post_tasks", "handlers", "block", "rescue", "always"):
        if isinstance(node.get(key), list):
            found.append(node[key])
    return found


def walk_tasks(tasks: list):
    for task in tasks:
        if not isinstance(task, dict):
            continue
        yield task
        for inner in task_lists(task):
            yield from walk_tasks(inner)


def expand(name: str) -> list[str]:
    return [name.replace("{{ daskhub_target }}", target) for target in TARGETS] if "{{" in name else [name]


def role_task_files(role: str, tasks_from: str = "main.yml") -> list[Path]:
    files = []
    for name in expand(tasks_from):
        path = ROOT / "roles" / role / "tasks" / (name if name.endswith(".yml") else f"{name}.yml")
        if path.exists():
            files.append(path)
    return files


def dependencies(role: str) -> list[str]:
    meta = ROOT / "roles" / role / "meta" / "main.yml"
    deps = (load(meta) or {}).get("dependencies", []) if meta.exists() else []
    return [dep["role"] if isinstance(dep, dict) else dep for dep in deps]


def reached_modules(tasks: list, here: Path | None, seen: set) -> set[str]:
    """The modules of ``tasks`` and of every task file and role they include."""
    modules = set()
    for task in walk_tasks(tasks):
        for key, value in task.items():
            if key in ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks") and here is not None:
                for name in expand(value if isinstance(value, str) else value["file"]):
                    modules |= modules_of_file(here.parent / name, seen)
            elif key in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                modules |= modules_of_role(value["name"], value.get("tasks_from", "main.yml"), seen)
            elif "." in key and isinstance(value, (dict, str, type(None))):
                modules.add(key)
    return modules


def modules_of_file(path: Path, seen: set) -> set[str]:
    if path in seen or not path.exists():
        return set()
    seen.add(path)
    return reached_modules(load(path), path, seen)


def modules_of_role(role: str, tasks_from: str, seen: set) -> set[str]:
    modules = set()
    for dep in dependencies(role):
        modules |= modules_of_role(dep, "main.yml", seen)
    for path in role_task_files(role, tasks_from):
        modules |= modules_of_file(path, seen)
    return modules


def plays():
    for path in PLAYBOOKS:
        for play in load(path):
            if "hosts" in play:
                yield path, play


def play_modules(play: dict) -> set[str]:
    seen: set = set()
    modules = set()
    for role in play.get("roles", []):
        modules |= modules_of_role(role["role"] if isinstance(role, dict) else role, "main.yml", seen)
    for tasks in task_lists(play):
        modules |= reached_modules(tasks, None, seen)
    return modules


KUBERNETES_PLAYS = [
    pytest.param(play, id=f"{path.relative_to(ROOT)}: {play['name']}")
    for path, play in plays()
    if any(module.startswith("kubernetes.core.") for module in play_modules(play))
]


def test_the_plays_that_reach_the_cluster_are_found():
    names = {param.values[0]["name"] for param in KUBERNETES_PLAYS}
    assert "Deploy DaskHub on Kubernetes with Helm" in names
    assert "Uninstall the Kubernetes target" in names
    assert "Run the site on a single host" not in names


@pytest.mark.parametrize("play", KUBERNETES_PLAYS)
def test_each_play_that_reaches_the_cluster_sets_its_connection_once(play):
    defaults = play.get("module_defaults") or {}
    assert {group: defaults.get(group) for group in GROUPS} == dict.fromkeys(GROUPS, CONNECTION)


def test_no_task_repeats_the_connection():
    repeated = []
    for path in sorted([*ROOT.glob("roles/*/tasks/*.yml"), *PLAYBOOKS]):
        data = load(path)
        task_sets = [lists for play in data for lists in task_lists(play)] if path in PLAYBOOKS else [data]
        for tasks in task_sets:
            for task in walk_tasks(tasks):
                for key, value in task.items():
                    if (
                        key.startswith("kubernetes.core.")
                        and isinstance(value, dict)
                        and {"kubeconfig", "context"} & value.keys()
                    ):
                        repeated.append(f"{path.relative_to(ROOT)}: {task.get('name', key)}")
    assert repeated == []
