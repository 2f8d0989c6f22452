"""The Dask panel's server extension (plugins/files/notebook/daskhub_dask_panel.py): the links it gives the panel."""

from __future__ import annotations

import importlib.util
import uuid

import pytest
from support.service_files import SHARED


@pytest.fixture(scope="module")
def panel():
    spec = importlib.util.spec_from_file_location("daskhub_dask_panel", SHARED / "notebook/daskhub_dask_panel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("link", "address", "proxied"),
    [
        # Local: the public address is the hub's; the gateway's address, the same proxy here.
        (
            "http://127.0.0.1:8000/services/dask-gateway/clusters/site.0123abcd/status",
            "http://127.0.0.1:8000/services/dask-gateway",
            "/user/alice/proxy/127.0.0.1:8000/services/dask-gateway/clusters/site.0123abcd/status",
        ),
        # Kubernetes: a relative public address; the pods reach the gateway at proxy-public, port 80.
        (
            "/services/dask-gateway/clusters/ns.0123abcd/status",
            "http://proxy-public/services/dask-gateway",
            "/user/alice/proxy/proxy-public:80/services/dask-gateway/clusters/ns.0123abcd/status",
        ),
        # A public HTTPS site: the dashboard's path on the pods' own address.
        (
            "https://hub.example.org/services/dask-gateway/clusters/x.1/status",
            "http://proxy-http:8000/services/dask-gateway/",
            "/user/alice/proxy/proxy-http:8000/services/dask-gateway/clusters/x.1/status",
        ),
    ],
)
def test_dashboards_go_through_the_users_server_with_their_path(panel, link, address, proxied):
    assert panel.proxied_dashboard(link, "/user/alice/", address) == proxied
    # dask-labextension opens a link under its server's proxy/ as it is.
    assert proxied.startswith("/user/alice/proxy/")


def test_no_link_or_no_gateway_leaves_the_link_alone(panel):
    assert panel.proxied_dashboard("", "/user/alice/", "http://proxy-public/services/dask-gateway") == ""
    assert panel.proxied_dashboard("http://x/status", "/user/alice/", "") == "http://x/status"
    # Another cluster's dashboard (a LocalCluster's) is left as it is.
    local = "http://127.0.0.1:8787/status"
    assert panel.proxied_dashboard(local, "/user/alice/", "http://proxy-public/services/dask-gateway") == local


def test_a_gateway_clusters_panel_id_is_a_uuid_that_stays_the_same(panel):
    # The panel's URL patterns want five dash-separated words; a cluster's name has a dot.
    first = panel.cluster_id("daskhub.0123abcd")
    assert str(uuid.UUID(first)) == first
    assert panel.cluster_id("daskhub.0123abcd") == first
    assert panel.cluster_id("daskhub.4567ef00") != first
