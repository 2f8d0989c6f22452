#!/usr/bin/env python3
"""Inventory of the kind scenario: the controller drives the cluster.

The daskhub group is empty when create.yml left a skip marker (no Docker,
kind or internet here), so every play of converge, verify and the
operations finds no hosts and the scenario passes without doing anything.
"""

import json
import os
import sys
from pathlib import Path

ephemeral = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", Path(__file__).resolve().parent))
skipped = (ephemeral / "skip-reason").exists()
host = {
    "ansible_connection": "local",
    # The interpreter running ansible-playbook (the project's .venv) has
    # the Python kubernetes client.
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}
inventory = {
    "_meta": {"hostvars": {} if skipped else {"localhost": host}},
    "all": {"children": ["daskhub"]},
    "daskhub": {"hosts": [] if skipped else ["localhost"]},
}
if "--host" in sys.argv:
    print(json.dumps({}))
else:
    print(json.dumps(inventory))
