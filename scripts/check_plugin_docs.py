#!/usr/bin/env python3
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


def main() -> int:
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
    problems = []
    for name in modules:
        fqcn = f"daskhub.deploy.{name}"
        result = subprocess.run(
            [ANSIBLE_DOC, "--json", "-t", "module", fqcn], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not result.stdout.strip():
            problems.append(f"{fqcn}: ansible-doc failed: {result.stderr.strip()}")
            continue
        doc = json.loads(result.stdout).get(fqcn, {})
        for part in ("doc", "examples", "return"):
            if not doc.get(part):
                problems.append(f"{fqcn}: {part.upper()} is missing")
        rendered = subprocess.run(
            [ANSIBLE_DOC, "-t", "module", fqcn], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if rendered.returncode != 0 or "[WARNING]" in rendered.stderr:
            problems.append(f"{fqcn}: ansible-doc text rendering: {rendered.stderr.strip()}")
        else:
            print(f"ok: {fqcn}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems or not modules else 0


if __name__ == "__main__":
    sys.exit(main())
