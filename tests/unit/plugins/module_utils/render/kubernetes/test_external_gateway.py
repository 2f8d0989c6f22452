"""External gateway access: the API through the hub's HTTPS address, the LoadBalancer for schedulers only."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import (
    external_gateway as external_access,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from support import kubernetes_site as ks
from support.snippets import gateway_call


def test_the_snippet_sends_the_api_to_the_hubs_https_address():
    printed = external_access.external_gateway("https://daskhub.hep-analysis.example.org/", "198.51.100.7")
    assert gateway_call(printed["code"]) == {
        "address": "https://daskhub.hep-analysis.example.org/services/dask-gateway",
        "proxy_address": "gateway://198.51.100.7:80",
        "auth": "jupyterhub",
    }
    assert "http://198.51.100.7" not in printed["code"]


def test_without_a_load_balancer_there_is_no_proxy_address():
    printed = external_access.external_gateway("https://hub.example.org", "")
    assert printed["proxy_address"] == ""
    assert gateway_call(printed["code"]) == {
        "address": "https://hub.example.org/services/dask-gateway",
        "auth": "jupyterhub",
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "also serves the gateway's HTTP API without TLS"),  # example site: HTTPS hub, gateway LoadBalancer
        (
            {
                "daskhub_https_enabled": False,
                "daskhub_https_hosts": [],
                "daskhub_oauth_callback_url": "http://203.0.113.10/hub/oauth_callback",
            },
            "the hub has no HTTPS address",
        ),
        ({"daskhub_gateway_traefik_service_type": "ClusterIP"}, None),
    ],
)
def test_a_gateway_load_balancer_without_tls_warns(overrides, expected):
    model = ks.model("example-site", **overrides)
    rendered = helm_values.render(model, ks.secrets(model))
    cleartext = [w for w in rendered["warnings"] if "without TLS" in w]
    if expected is None:
        assert cleartext == []
    else:
        assert len(cleartext) == 1 and expected in cleartext[0]
        assert "daskhub_https_enabled" in cleartext[0] or "proxy_address" in cleartext[0]
