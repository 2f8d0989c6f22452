"""Render every module's documentation with ansible-doc, as users will see it.

Fails when ansible-doc cannot render a module or when EXAMPLES or RETURN is
missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_DOC = str(Path(sys.executable).parent / "ansible-doc")


def ansible_doc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ANSIBLE_DOC, "-t", "module", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def json_docs(names: list[str]) -> tuple[dict, dict]:
    """(docs by name, errors by name) of one ``ansible-doc --json`` run."""
    result = ansible_doc("--json", *names)
    docs = json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else {}
    errors = {} if result.returncode == 0 else {name: result.stderr.strip() for name in names}
    return docs, errors


def text_problem(fqcn: str) -> str | None:
    rendered = ansible_doc(fqcn)
    if rendered.returncode != 0 or "[WARNING]" in rendered.stderr:
        return f"{fqcn}: ansible-doc text rendering: {rendered.stderr.strip()}"
    return None


def main() -> int:
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
    names = [f"daskhub.deploy.{name}" for name in modules]
    problems = []
    # One ansible-doc run for all modules (each run costs seconds of start-up);
    # a module it cannot render is missing from the JSON or named in stderr.
    docs, errors = json_docs(names)
    if errors:
        # One broken module fails the whole run: read each alone to name it.
        docs, errors = {}, {}
        for fqcn in names:
            doc, error = json_docs([fqcn])
            docs.update(doc)
            errors.update(error)
    for fqcn in names:
        doc = docs.get(fqcn)
        if not doc:
            problems.append(f"{fqcn}: ansible-doc failed: {errors.get(fqcn, 'no documentation')}")
            continue
        for part in ("doc", "examples", "return"):
            if not doc.get(part):
                problems.append(f"{fqcn}: {part.upper()} is missing")
    rendered = ansible_doc(*names)
    if rendered.returncode != 0 or "[WARNING]" in rendered.stderr:
        # Render each alone to name the module that warns or fails.
        problems.extend(problem for problem in map(text_problem, names) if problem)
    for fqcn in names:
        if not any(problem.startswith(fqcn + ":") for problem in problems):
            print(f"ok: {fqcn}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems or not modules else 0


if __name__ == "__main__":
    sys.exit(main())
