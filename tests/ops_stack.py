"""The old name of the deployed local stack, kept so that tests written against it still run.

New tests use tests/support/stacks.py directly: the ``local_stack`` fixture
(shared, mark the module ``LOCAL_STACK``) or a private
:class:`support.stacks.LocalStack` for a test that breaks its stack.
"""

from __future__ import annotations

import yaml
from support.chart_envs import local_versions
from support.stacks import SLOTS, LocalStack

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
        super().__init__(tmp_prefix.strip("-").removeprefix("daskhub-") or "ops", SLOTS["private"])
        if ports:
            self.ports = {_PORT_NAMES.get(name, name): port for name, port in ports.items()}
            settings = self.inventory / "group_vars/daskhub/zz-test.yml"
            settings.write_text(yaml.safe_dump({**yaml.safe_load(settings.read_text()), **self.ports}))
            self.hub_url = f"http://127.0.0.1:{self.ports['daskhub_local_hub_port']}"
        self.pinned_jupyterhub = str(local_versions()["jupyterhub"])

    def deploy(self, old=False, *args):
        del old  # the old-version deploy is the upgraded_stack fixture's now
        return super().deploy(*args)

    def destroy(self):
        self.purge()


_PRIVATE: dict[str, OpsStack] = {}


def shared(request, ports=None, tmp_prefix=None) -> LocalStack:
    """The session's shared stack (the ``local_stack`` fixture), or with ``tmp_prefix`` a private one.

    A private stack is deployed on first use and purged when pytest ends. It
    takes the harness's per-worker "private" port slot, not ``ports``: fixed
    ports would clash when two xdist workers deploy it. Mark its test module
    with an xdist_group so that one worker deploys it once.
    """
    if tmp_prefix is None and ports is None:
        return request.getfixturevalue("local_stack")
    key = tmp_prefix or "daskhub-private-"
    stack = _PRIVATE.get(key)
    if stack is None:
        stack = _PRIVATE[key] = OpsStack(tmp_prefix=key)
        request.config.add_cleanup(stack.purge)
    if not stack.deployed:
        stack.deploy()
    return stack
