"""The Prometheus operator's CRD schemas, for tests: `@kubernetes-models/prometheus-operator` from npm.

The package is generated from the operator's CRDs and ships them as compiled
validators (ajv) behind each model class's ``validate()``; it is installed
with npm into .cache/ once, and tests/support/validate_k8s_models.mjs runs
the objects through it (ConfigMaps and Secrets through `kubernetes-models`,
its dependency).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "prometheus-operator-models"
PACKAGE = "@kubernetes-models/prometheus-operator@6.0.0"
SCRIPT = Path(__file__).with_name("validate_k8s_models.mjs")


def _installed() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    modules = CACHE / "node_modules"
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / "@kubernetes-models/prometheus-operator/package.json").exists():
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(CACHE), PACKAGE],
                check=True,
                capture_output=True,
                timeout=600,
            )
    return modules


def available() -> str:
    """Why the validation cannot run here, or ''."""
    return "" if shutil.which("node") and shutil.which("npm") else "node and npm are needed (scripts/test-deps.sh)"


def validate(objects: list[dict]) -> list[str]:
    """One line per object that the schema of its kind refuses (empty: all valid)."""
    modules = _installed()
    script = CACHE / SCRIPT.name  # beside node_modules, so that its imports resolve there
    # Written aside, then renamed over: another worker's node may be reading
    # the script this moment, and a write in place would hand it an empty file.
    aside = script.with_name(f".{script.name}.{os.getpid()}")
    aside.write_text(SCRIPT.read_text())
    os.replace(aside, script)
    proc = subprocess.run(
        ["node", str(script)],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=modules.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)
