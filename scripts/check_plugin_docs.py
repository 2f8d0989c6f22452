"""Render every plugin's (module, filter, lookup, callback) and role's documentation with ansible-doc, as users see it.

Fails when ansible-doc cannot render one; when a module lacks EXAMPLES or
RETURN; when a module's return value has no ``sample`` (a dict or list whose
``contains`` gives each of its keys a sample may go without); when a filter
has no documentation (plugins/filter/<name>.yml beside its plugin); when a
role has no documented entry point; and when any of them uses the legacy
markup I() (an option is O(), a value V(), a return value RV(), code C()).

Each plugin type is one ``ansible-doc --json`` run (each start costs half a
second of CPU); the runs go in parallel. The schema and the references of
the markup are checked by antsibull-docs in the docs build
(scripts/build_docs.py).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository is the collection daskhub.deploy, linked in by scripts/bootstrap.sh.
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.daskhub.deploy.plugins.module_utils.yaml_io import string_values  # noqa: E402

ANSIBLE_DOC = str(Path(sys.executable).parent / "ansible-doc")
COLLECTION = "daskhub.deploy"
LEGACY_MARKUP = re.compile(r"\bI\([^)]*\)")


def start(kind: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [ANSIBLE_DOC, "-t", kind, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate()
    return process.returncode, stdout, stderr


def json_docs(kind: str, names: list[str], process: subprocess.Popen | None = None) -> tuple[dict, dict]:
    """(docs by name, errors by name) of ``ansible-doc --json``; one broken plugin is named by reading each alone."""
    code, stdout, stderr = finish(process or start(kind, "--json", *names))
    if code == 0 and stdout.strip():
        return json.loads(stdout), {}
    if len(names) == 1:
        return {}, {names[0]: stderr.strip() or "no documentation"}
    docs, errors = {}, {}
    for name in names:
        doc, error = json_docs(kind, [name])
        docs.update(doc)
        errors.update(error)
    return docs, errors


def filter_names() -> dict[str, str]:
    """Filter name -> its plugin file, read from each FilterModule.filters() (without importing it)."""
    names = {}
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for returned in ast.walk(node):
                    if isinstance(returned, ast.Return) and isinstance(returned.value, ast.Dict):
                        names.update(
                            {key.value: path.name for key in returned.value.keys if isinstance(key, ast.Constant)}
                        )
    return names


def missing_samples(returns: dict, prefix: str = "") -> list[str]:
    """Return values without a sample; a dict or list may instead give each key of its ``contains`` one."""
    missing = []
    for key, spec in (returns or {}).items():
        contains = spec.get("contains")
        if "sample" in spec:
            continue
        if contains and spec.get("type") in ("dict", "list"):
            missing += missing_samples(contains, f"{prefix}{key}.")
        else:
            missing.append(prefix + key)
    return missing


def legacy_markup(doc) -> list[str]:
    return sorted({match for text in string_values(doc) for match in LEGACY_MARKUP.findall(text)})


def text_problems(names: list[str], rendered: tuple[int, str, str]) -> list[str]:
    """The modules whose text rendering fails or warns; each is rendered alone only when the joint run did."""
    code, _stdout, stderr = rendered
    if code == 0 and "[WARNING]" not in stderr:
        return []
    problems = []
    for fqcn in names:
        code, _stdout, stderr = finish(start("module", fqcn))
        if code != 0 or "[WARNING]" in stderr:
            problems.append(f"{fqcn}: ansible-doc text rendering: {stderr.strip()}")
    return problems


def main() -> int:
    modules = [f"{COLLECTION}.{p.stem}" for p in sorted((ROOT / "plugins" / "modules").glob("*.py"))]
    modules = [name for name in modules if not name.rsplit(".", 1)[1].startswith("_")]
    filters = filter_names()
    filter_fqcns = [f"{COLLECTION}.{name}" for name in sorted(filters)]
    lookups = [f"{COLLECTION}.{p.stem}" for p in sorted((ROOT / "plugins" / "lookup").glob("*.py"))]
    callbacks = [f"{COLLECTION}.{p.stem}" for p in sorted((ROOT / "plugins" / "callback").glob("*.py"))]
    roles = [f"{COLLECTION}.{p.parent.parent.name}" for p in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml"))]
    roles_without = sorted(
        p.name for p in (ROOT / "roles").iterdir() if not (p / "meta" / "argument_specs.yml").exists()
    )
    # Every ansible-doc run at once: the module text, and the JSON of each plugin type.
    runs = {
        "text": start("module", *modules),
        "module": start("module", "--json", *modules),
        "filter": start("filter", "--json", *filter_fqcns),
        "lookup": start("lookup", "--json", *lookups),
        "callback": start("callback", "--json", *callbacks),
        "role": start("role", "--json", *roles),
    }
    problems = [f"{COLLECTION}.{name}: role without meta/argument_specs.yml" for name in roles_without]
    problems += [
        f"{COLLECTION}.{name}: filter without documentation (plugins/filter/{name}.yml beside {filters[name]})"
        for name in sorted(filters)
        if not (ROOT / "plugins" / "filter" / f"{name}.yml").exists()
    ]
    checked = []
    for kind, names in (
        ("module", modules),
        ("filter", filter_fqcns),
        ("lookup", lookups),
        ("callback", callbacks),
        ("role", roles),
    ):
        docs, errors = json_docs(kind, names, runs[kind])
        for fqcn in names:
            entry = docs.get(fqcn)
            if not entry:
                problems.append(f"{fqcn} ({kind}): ansible-doc failed: {errors.get(fqcn, 'no documentation')}")
                continue
            checked.append((kind, fqcn))
            if kind == "role":
                if not entry.get("entry_points"):
                    problems.append(f"{fqcn} (role): no entry point documented")
            else:
                # A callback is enabled in ansible.cfg, not called by a task: no example, nothing returned.
                for part in ("doc",) if kind == "callback" else ("doc", "examples", "return"):
                    if not entry.get(part):
                        problems.append(f"{fqcn} ({kind}): {part.upper()} is missing")
            if kind == "module":
                problems += [f"{fqcn}: RETURN {key} has no sample" for key in missing_samples(entry.get("return"))]
            problems += [
                f"{fqcn} ({kind}): legacy markup {found} (O() for an option)" for found in legacy_markup(entry)
            ]
    problems += text_problems(modules, finish(runs["text"]))
    for kind, fqcn in checked:
        if not any(problem.startswith(fqcn + ":") or problem.startswith(fqcn + " ") for problem in problems):
            print(f"ok: {fqcn} ({kind})")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems or not modules else 0


if __name__ == "__main__":
    sys.exit(main())
