"""Composed is the default for new sites; an umbrella site moves only when asked to."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.filter import helm_values as filters
from support import kubernetes_site as ks
from support.versions import GATEWAY_VERSION, JUPYTERHUB_CHART_VERSION


def test_new_sites_default_to_composed_on_the_current_charts():
    model = ks.model()
    assert model["chart_mode"] == "composed"
    pins = (JUPYTERHUB_CHART_VERSION, GATEWAY_VERSION)
    assert (model["jupyterhub_chart_version"], model["dask_gateway_chart_version"]) == pins


def test_an_umbrella_site_that_did_not_ask_is_stopped_naming_the_variable():
    decision = filters.umbrella_move(ks.model(), "daskhub-2024.1.1")
    assert decision["move"] is False
    assert "runs the umbrella chart daskhub-2024.1.1" in decision["blocked"]
    assert "daskhub_chart_mode: daskhub" in decision["blocked"]
    assert "daskhub_kubernetes_move_from_daskhub=true" in decision["blocked"]
    assert "Nothing was changed" in decision["blocked"]


def test_nothing_to_decide_for_a_new_site_a_composed_site_or_an_umbrella_site_that_stays():
    for model, chart in (
        (ks.model(), ""),  # no release yet
        (ks.model(), "jupyterhub-4.4.0"),  # already composed
        (ks.model(daskhub_chart_mode="daskhub"), "daskhub-2024.1.1"),  # an umbrella site keeps its mode
    ):
        assert filters.umbrella_move(model, chart, True) == {"move": False, "blocked": "", "plan": []}


def test_the_move_plan_names_the_releases_the_volume_and_the_load_balancer_ip():
    pinned = ks.model(
        daskhub_gateway_traefik_service_type="LoadBalancer",
        daskhub_gateway_traefik_load_balancer_ip="198.51.100.7",
        daskhub_gateway_traefik_load_balancer_source_ranges=["192.0.2.0/24"],
    )
    decision = filters.umbrella_move(pinned, "daskhub-2024.1.1", True)
    plan = "\n".join(decision["plan"])
    assert decision["move"] is True and decision["blocked"] == ""
    assert "helm upgrade dhub: daskhub-2024.1.1 -> jupyterhub/jupyterhub 4.4.0" in plan
    assert "hub-db-dir stays" in plan
    assert f"helm install dhub-dask-gateway: dask/dask-gateway {GATEWAY_VERSION}" in plan
    assert "pinned loadBalancerIP 198.51.100.7" in plan
    unpinned = ks.model(
        daskhub_gateway_traefik_service_type="LoadBalancer",
        daskhub_gateway_traefik_load_balancer_source_ranges=["192.0.2.0/24"],
    )
    assert "NEW external IP" in "\n".join(filters.umbrella_move(unpinned, "daskhub-2024.1.1", True)["plan"])
