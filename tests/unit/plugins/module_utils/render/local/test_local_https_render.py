"""The local target with HTTPS (render/local/: addresses, documents, tls): what the hub, its proxy,
the gateway and the users' servers are given, from the same model keys the Kubernetes values read."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import addresses as local_addresses
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import documents as local_documents
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import paths as local_paths
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import usage as local_usage
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.tls import subject_alt_names
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import local_settings as settings_checks
from support.site_models import build_model, local_settings

HTTPS = {
    "daskhub_target": "local",
    "daskhub_https_enabled": True,
    "daskhub_https_hosts": ["hub.example.org"],
    "daskhub_https_letsencrypt_contact_email": "ops@example.org",
}


def https_settings(tmp_path, **overrides):
    values = {
        "https": True,
        "https_host": "hub.example.org",
        "hub_port": 443,
        "http_port": 80,
        "gateway_http_port": 8004,
    }
    values.update(overrides)
    return local_settings(tmp_path, **values)


def test_the_hubs_proxy_serves_the_certificate_and_the_http_port_answers_acme_and_redirects(tmp_path):
    settings = https_settings(tmp_path)
    p = local_paths.paths(settings["prefix"])
    document = local_documents.hub_document(build_model(**HTTPS), settings)
    hub = document["config"]["JupyterHub"]
    assert hub["bind_url"] == "https://127.0.0.1:443"
    assert (hub["ssl_cert"], hub["ssl_key"]) == (p["tls_cert"], p["tls_key"])
    redirect = next(s for s in document["services"] if s["name"] == local_documents.HTTP_REDIRECT_SERVICE)
    command = redirect["command"]
    assert command[:4] == [p["python"], p["service_guard_py"], p["python"], p["http_redirect_py"]]
    assert command[command.index("--port") + 1] == "80"
    assert command[command.index("--webroot") + 1] == p["acme_webroot"]
    # Port 443 is the scheme's own: the public URL does not name it.
    assert command[command.index("--https-url") + 1] == "https://hub.example.org"
    assert "url" not in redirect


def test_the_gateways_public_port_takes_only_tls_and_its_http_side_moves_to_loopback(tmp_path):
    settings = https_settings(tmp_path, bind_ip="0.0.0.0")  # noqa: S104  the setting under test
    model = build_model(**HTTPS)
    proxy = local_documents.gateway_document(model, settings)["config"]["Proxy"]
    assert proxy == {"address": "127.0.0.1:8004", "tcp_address": "0.0.0.0:8002", "prefix": "/services/dask-gateway"}
    environment = local_documents.hub_document(model, settings)["config"]["Spawner"]["environment"]
    assert environment["DASK_GATEWAY__ADDRESS"] == "http://127.0.0.1:8004/services/dask-gateway"
    assert environment["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://127.0.0.1:8002"
    assert environment["DASK_GATEWAY__PUBLIC_ADDRESS"] == "https://hub.example.org/services/dask-gateway"
    assert "SSL_CERT_FILE" not in environment
    service = next(s for s in local_documents.hub_document(model, settings)["services"] if s["name"] == "dask-gateway")
    assert service["url"] == "http://127.0.0.1:8004"


def test_a_private_ca_is_trusted_by_the_users_servers(tmp_path):
    settings = https_settings(tmp_path, site_ca=True)
    environment = local_documents.hub_document(build_model(**HTTPS), settings)["config"]["Spawner"]["environment"]
    assert environment["SSL_CERT_FILE"] == local_paths.paths(settings["prefix"])["site_ca"]


def test_without_https_nothing_changes(tmp_path):
    settings = local_settings(tmp_path)
    model = build_model(daskhub_target="local")
    document = local_documents.hub_document(model, settings)
    assert "ssl_cert" not in document["config"]["JupyterHub"]
    assert local_documents.HTTP_REDIRECT_SERVICE not in [s["name"] for s in document["services"]]
    assert local_documents.gateway_document(model, settings)["config"]["Proxy"] == {
        "address": "127.0.0.1:8002",
        "prefix": "/services/dask-gateway",
    }
    assert local_addresses.public_url(model, settings) == "http://127.0.0.1:8000"


@pytest.mark.parametrize(("port", "url"), [(443, "https://hub.example.org"), (8443, "https://hub.example.org:8443")])
def test_the_public_and_hub_urls_name_the_certificates_host(tmp_path, port, url):
    model = build_model(**HTTPS)
    assert local_addresses.public_url(model, https_settings(tmp_path, hub_port=port)) == url
    assert hub_model.hub_url(model, port) == url


def test_the_http_ports_are_checked_only_with_https(tmp_path):
    clash = {"http_port": 8000, "gateway_http_port": 8003}
    assert settings_checks.check_settings(local_settings(tmp_path, **clash)) == []
    errors = settings_checks.check_settings(https_settings(tmp_path, hub_port=8000, **clash))
    assert "daskhub_local_http_port: port 8000 is also daskhub_local_hub_port" in errors
    assert "daskhub_local_gateway_http_port: port 8003 is also daskhub_local_gateway_api_port" in errors
    assert any(
        e.startswith("daskhub_https_hosts:")
        for e in settings_checks.check_settings(https_settings(tmp_path, https_host=""))
    )


def test_the_certificate_names_hosts_and_addresses():
    assert subject_alt_names(["hub.example.org", "192.0.2.7", "[2001:db8::1]"]) == [
        "DNS:hub.example.org",
        "IP:192.0.2.7",
        "IP:2001:db8::1",
    ]


def test_the_closing_message_sends_users_outside_the_hub_to_the_sites_name(tmp_path):
    snippet = local_usage.gateway_snippet(build_model(**HTTPS), https_settings(tmp_path))
    assert (
        'Gateway("https://hub.example.org/services/dask-gateway", proxy_address="gateway://hub.example.org:8002"'
        in (snippet)
    )
