"""The old name of the deployed local stack, kept so that tests written against it still run.

New tests use tests/support/stacks.py directly: the ``local_stack`` fixture
(shared, mark the module ``LOCAL_STACK``) or a private
:class:`support.stacks.LocalStack` for a test that breaks its stack.
"""

from __future__ import annotations

import yaml
from support.stacks import SLOTS, LocalStack, pinned_versions

# The old port names of OpsStack(ports=...) -> the role's variables.
_PORT_NAMES = {
    "hub": "daskhub_local_hub_port",
    "hub_api": "daskhub_local_hub_api_port",
    "proxy_api": "daskhub_local_proxy_api_port",
    "gateway": "daskhub_local_gateway_port",
    "gateway_api": "daskhub_local_gateway_api_port",
}


class OpsStack(LocalStack):
    """A private LocalStack; ``ports`` by their old short names, ``deploy(old=...)`` ignored but for the pin."""

    def __init__(self, ports=None, tmp_prefix="daskhub-ops-"):
        super().__init__(tmp_prefix.strip("-") or "ops", SLOTS["scratch"])
        if ports:
            self.ports = {_PORT_NAMES.get(name, name): port for name, port in ports.items()}
            settings = self.inventory / "group_vars/daskhub/zz-test.yml"
            settings.write_text(yaml.safe_dump({**yaml.safe_load(settings.read_text()), **self.ports}))
            self.hub_url = f"http://127.0.0.1:{self.ports['daskhub_local_hub_port']}"
        self.pinned_jupyterhub = str(pinned_versions()["jupyterhub"])

    def deploy(self, old=False, *args):
        del old  # the old-version deploy is the upgraded_stack fixture's now
        return super().deploy(*args)

    def destroy(self):
        self.purge()


def shared(request) -> LocalStack:
    """The session's shared stack (the ``local_stack`` fixture)."""
    return request.getfixturevalue("local_stack")
