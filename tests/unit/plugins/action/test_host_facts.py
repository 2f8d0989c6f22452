"""daskhub.deploy.host_facts against ansible.builtin.setup on this host: the same facts, with or without a module."""

from __future__ import annotations

import json

import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.host import facts as host_facts
from support.playbooks import MODULE_PROCESS_PYTHON, run_playbook

# What the roles read (roles/daskhub_local/vars/main.yml, tasks/node.yml, the model's check).
READ = ["user_id", "user_uid", "user_gid", "user_dir", "fqdn", "pkg_mgr", "system", "architecture"]


def _gathered(work):
    inventory = work / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        # The controller itself, as the local target's inventories name it.
                        "here": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        },
                        # The same machine through another interpreter: the plugin must not answer for it.
                        "other": {"ansible_connection": "local", "ansible_python_interpreter": MODULE_PROCESS_PYTHON},
                    }
                }
            }
        )
    )
    playbook = work / "facts.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Facts both ways",
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "Ours", "daskhub.deploy.host_facts": {}, "register": "ours"},
                        {"name": "Keep", "ansible.builtin.set_fact": {"ours_facts": "{{ ansible_facts }}"}},
                        {
                            "name": "Setup",
                            "ansible.builtin.setup": {"gather_subset": host_facts.SETUP_SUBSET},
                            "register": "setup",
                        },
                        {
                            "name": "Write",
                            "ansible.builtin.copy": {
                                "dest": f"{work}/{{{{ inventory_hostname }}}}.json",
                                "content": "{{ {'by': ours.gathered_by, 'ours': ours_facts, "
                                "'setup': setup.ansible_facts} | to_json }}",
                                "mode": "0600",
                            },
                        },
                    ],
                }
            ]
        )
    )
    proc = run_playbook(str(playbook), inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return {host: json.loads((work / f"{host}.json").read_text()) for host in ("here", "other")}


# One test for the one playbook run: ansible-test forks each test, so a
# module fixture would run it again for every test.
def test_the_facts_the_roles_read_are_setups(tmp_path):
    gathered = _gathered(tmp_path)
    for host, by in (("here", "daskhub.deploy.host_facts"), ("other", "ansible.builtin.setup")):
        result = gathered[host]
        assert result["by"] == by, host
        ours, setup = result["ours"], result["setup"]
        for name in READ:
            assert ours[name] == setup[f"ansible_{name}"], (host, name)
        assert ours["python"]["executable"] == setup["ansible_python"]["executable"], host
        # The roles ask only whether systemd manages the host.
        assert (ours["service_mgr"] == "systemd") == (setup["ansible_service_mgr"] == "systemd"), host
