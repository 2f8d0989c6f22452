"""Records which process imports which of this collection's modules, for tests that count them.

Python imports ``sitecustomize`` at start from its path: a test puts this
folder on PYTHONPATH and names a log file in DASKHUB_IMPORT_LOG. Every
``import`` of an ``ansible_collections.daskhub`` module in the process, and
in the processes it forks (Ansible's workers, whose stderr goes nowhere),
then appends "<pid> <module>" to that file.
"""

from __future__ import annotations

import os
import sys

LOG = os.environ.get("DASKHUB_IMPORT_LOG")
PREFIX = "ansible_collections.daskhub."


def record_import(event: str, args: tuple) -> None:
    if event == "import" and str(args[0]).startswith(PREFIX):
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {args[0]}\n")


if LOG:
    sys.addaudithook(record_import)
