"""What the release role prints at the end: the external snippet never points the API at the LoadBalancer."""

from __future__ import annotations

import json

from support.playbooks import ROOT, ansible_env, run_playbook
from support.site_models import EXAMPLE_VAULT
from support.snippets import gateway_call

PLAYBOOK = """\
- name: Print how to connect, as the release role does after a deploy
  hosts: daskhub
  gather_facts: false
  tasks:
    - name: Run the release role's summary
      ansible.builtin.include_role:
        name: daskhub_kubernetes_release
        tasks_from: summary
"""


def test_the_printed_snippet_uses_the_hubs_https_address_and_the_load_balancer_as_proxy(tmp_path):
    playbook = tmp_path / "summary.yml"
    playbook.write_text(PLAYBOOK)
    facts = {
        # What the helm_values module and wait.yml hand the summary on the example site.
        "daskhub_kubernetes_values_rendered": {"hub_url": "https://daskhub.hep-analysis.example.org"},
        "daskhub_kubernetes_release_gateway_lb_address": "198.51.100.7",
        "daskhub_state_dir": str(tmp_path / "state"),
        **EXAMPLE_VAULT,
    }
    inventory = str(ROOT / "inventories" / "example-site")
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")  # the printed lines, unwrapped
    result = run_playbook(str(playbook), "-i", inventory, "-e", json.dumps(facts), env=env)
    assert result.returncode == 0, result.stdout[-3000:]
    tasks = json.loads(result.stdout)["plays"][0]["tasks"]
    (printed,) = [t["hosts"]["localhost"]["msg"] for t in tasks if t["task"]["name"].endswith(": Print how to connect")]
    (line,) = [line.strip() for line in printed if line.strip().startswith("gateway = Gateway(")]
    assert gateway_call(line) == {
        "address": "https://daskhub.hep-analysis.example.org/services/dask-gateway",
        "proxy_address": "gateway://198.51.100.7:80",
        "auth": "jupyterhub",
    }
    assert "http://198.51.100.7" not in result.stdout
