"""Prints, as one JSON list, the modules that importing MODULE brings into a fresh interpreter.

Run as ``python imports_of.py MODULE`` with MODULE importable (PYTHONPATH):
a test of what a module's start costs reads it.
"""

from __future__ import annotations

import importlib
import json
import sys

if __name__ == "__main__":
    before = set(sys.modules)
    importlib.import_module(sys.argv[1])
    print(json.dumps(sorted(set(sys.modules) - before)))
