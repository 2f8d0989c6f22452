"""Real logins on the local target: generic-oauth through an OpenID Connect provider on loopback.

The provider (oidc-provider-mock, support/oidc_provider.py) holds each
user's ``groups`` claim; the public site (support.public_stack.OIDC_SITE, with HTTPS from pebble) lets in the
``physics`` group, makes ``hub-admins`` admins, and bounds the gateway's
options for ``physics``. Every login goes through the provider's own login
page and the hub's OAuth redirects (support.browser, ``login_oidc``); user
code runs in the user's own notebook kernel with her server's token.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.kernel import CodeError
from support.browser import Browser
from support.public_stack import PUBLIC_STACK

pytestmark = [pytest.mark.stack, PUBLIC_STACK]

# Within physics' bounds (2 cores, 2 GiB, 1 worker a cluster), then over them.
WITHIN = """
from dask_gateway import GatewayCluster
cluster = GatewayCluster(worker_cores=2, worker_memory=2)
cluster.scale(1)
client = cluster.get_client()
client.wait_for_workers(1, timeout=120)
print(client.submit(sum, range(100)).result(), *(w["nthreads"] for w in client.scheduler_info()["workers"].values()))
"""
OVER = """
from dask_gateway import GatewayCluster
GatewayCluster(worker_cores=3)
"""


def _offered_bounds(public_stack, browser, user):
    """The most worker cores and GiB the gateway offers ``user``, by its API, with a token she made at /hub/token."""
    token = browser.new_token(user, ["access:services!service=dask-gateway"])
    request = urllib.request.Request(
        f"{public_stack.hub_url}/services/dask-gateway/api/v1/options", headers={"Authorization": f"jupyterhub {token}"}
    )
    context = ssl.create_default_context(cafile=str(public_stack.site_ca))
    with urllib.request.urlopen(request, timeout=60, context=context) as answer:
        fields = {field["field"]: field["spec"] for field in json.loads(answer.read())["cluster_options"]}
    return fields["worker_cores"]["max"], fields["worker_memory"]["max"]


def test_the_deploy_never_showed_the_client_secret_and_keeps_it_in_the_secret_file_only(public_stack, oidc_provider):
    secret = oidc_provider.client_secret
    assert secret not in public_stack.deploy_output
    assert secret not in (public_stack.prefix / "etc/hub-settings.json").read_text()
    secret_file = public_stack.prefix / "etc/hub-secrets.json"
    assert secret in secret_file.read_text() and oct(secret_file.stat().st_mode & 0o777) == "0o600"


def test_the_hub_takes_logins_from_the_provider_and_the_groups_decide(public_stack):
    # bob is in no allowed group: the hub refuses him at the callback.
    with pytest.raises(urllib.error.HTTPError) as refused:
        Browser(public_stack.hub_url, ca_file=str(public_stack.site_ca)).login_oidc("bob", next_path="/hub/home")
    assert refused.value.code == 403
    assert public_stack.api("GET", "/users/bob")[0] == 404

    # carol logs in as an admin: the provider's hub-admins group.
    carols = Browser(public_stack.hub_url, ca_file=str(public_stack.site_ca))
    assert carols.login_oidc("carol", next_path="/hub/home") == f"{public_stack.hub_url}/hub/home"
    status, carol = public_stack.api("GET", "/users/carol")
    assert status == 200 and carol["admin"] is True and carol["groups"] == ["hub-admins"]
    # hub-admins bounds nothing: the gateway offers carol the site's bounds.
    assert _offered_bounds(public_stack, carols, "carol") == (4, 8.0)

    # alice, by her group; JupyterHub's groups are the provider's.
    browser = Browser(public_stack.hub_url, ca_file=str(public_stack.site_ca))
    browser.login_oidc("alice", next_path="/hub/home")
    status, alice = public_stack.api("GET", "/users/alice")
    assert status == 200 and alice["admin"] is False and alice["groups"] == ["physics"]
    assert _offered_bounds(public_stack, browser, "alice") == (2, 2.0)

    browser.start_server("alice")
    kernel = browser.kernel("alice")
    try:
        # Her group's bound: the gateway's options handler refuses more, naming the group.
        with pytest.raises(CodeError) as over:
            kernel.execute(OVER, timeout=120)
        assert "worker_cores must be <= 2" in over.value.evalue, over.value.evalue
        assert "the most your groups allow: physics" in over.value.evalue
        # Within it, a cluster computes.
        assert kernel.execute(WITHIN, timeout=240).split() == ["4950", "2"]
    finally:
        browser.end_session("alice", kernel)

    # An exclusive user sync (no source lists alice or carol) leaves the provider's members alone.
    public_stack.playbook("playbooks/user-sync.yml")
    assert public_stack.api("GET", "/users/alice")[0] == 200
    assert public_stack.api("GET", "/users/carol")[1]["admin"] is True
