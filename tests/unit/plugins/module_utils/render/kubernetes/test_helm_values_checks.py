"""The Kubernetes values' checks and YAML (plugins/module_utils/render/kubernetes/, yaml_io.py).

Validation errors, helm's coalescing rules and the YAML we write, the filters
of the release and secrets roles; rendering, key by key, is in
test_helm_values.py.
"""

from __future__ import annotations

import re

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.filter import helm_values as filters
from ansible_collections.daskhub.deploy.plugins.module_utils import yaml_io
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import merge as helm_merge
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import releases as helm_releases
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from support import kubernetes_site as ks
from support.kubernetes_site import render
from support.versions import GATEWAY_VERSION

MODES = ("daskhub", "composed")


# --- Validation errors name the offending key -----------------------------------------


@pytest.mark.parametrize(
    ("mode", "extra", "expected"),
    [
        ("daskhub", {"jupyterhub": {"hub": {"notAKey": 1}}}, r"jupyterhub\.hub\.notAKey: unknown key"),
        ("composed", {"jupyterhub": {"hub": {"notAKey": 1}}}, r"\(release dhub\): hub\.notAKey: unknown key"),
        (
            "daskhub",
            {"jupyterhub": {"singleuser": {"startTimeout": "soon"}}},
            r"jupyterhub\.singleuser\.startTimeout: 'soon' is not of type",
        ),
        (
            "composed",
            {"dask-gateway": {"traefik": {"service": {"type": "LoadBalancer", "loadBalancerIP": "1.2.3.4"}}}},
            rf"dask/dask-gateway {re.escape(GATEWAY_VERSION)} \(release dhub-dask-gateway\): "
            r"traefik\.service\.loadBalancerIP: unknown",
        ),
        (
            "daskhub",
            {"dask-gateway": {"gateway": {"auth": {"type": "kerberos5"}}}},
            r"dask-gateway\.gateway\.auth\.type",
        ),
        (
            "daskhub",
            {"dask-gateway": {"gateway": {"auth": {"jupyterhub": {"jupyterhubServiceName": "x"}}}}},
            r"dask-gateway\.gateway\.auth\.jupyterhub\.jupyterhubServiceName: unknown key",
        ),
    ],
)
def test_schema_errors_name_the_path(mode, extra, expected):
    _model, _secrets, rendered = render("local", daskhub_chart_mode=mode, daskhub_extra_values=extra)
    with pytest.raises(helm_releases.ValuesError) as caught:
        chart_schema.validate(rendered, str(ks.CHART_DATA))
    assert re.search(expected, str(caught.value)), str(caught.value)


def test_a_secret_never_appears_in_a_validation_error():
    extra = {"jupyterhub": {"proxy": {"secretToken": {"nested": 1}}}}
    model = ks.model("local", daskhub_chart_mode="daskhub", daskhub_extra_values=extra)
    secrets = ks.secrets(model)
    rendered = helm_values.render(model, secrets)
    # Make the secrets file itself the offending part.
    rendered["releases"][0]["secrets"]["jupyterhub"]["singleuser"] = {"startTimeout": secrets["cookie_secret"]}
    with pytest.raises(helm_releases.ValuesError) as caught:
        chart_schema.validate(rendered, str(ks.CHART_DATA))
    assert "jupyterhub.singleuser.startTimeout" in str(caught.value)
    assert secrets["cookie_secret"] not in str(caught.value)
    assert yaml_io.REDACTED in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"daskhub_gateway_worker_image": "pangeo/pangeo-notebook"}, "must also provide a tag"),
        ({"daskhub_gateway_scheduler_memory": {"request": "200G", "limit": "100G"}}, "scheduler_memory"),
        ({"daskhub_chart_mode": "umbrella"}, "daskhub_chart_mode"),
        ({"daskhub_gateway_traefik_load_balancer_source_ranges": ["everywhere"]}, "not a CIDR range"),
    ],
)
def test_bad_model_input_fails_before_rendering(overrides, expected):
    model = ks.model("example-site", **overrides)
    with pytest.raises(ValueError, match=expected):
        helm_values.render(model, ks.secrets(model))


def test_unknown_umbrella_version_and_missing_secrets_are_clear_errors():
    model = ks.model("local", daskhub_chart_mode="daskhub", daskhub_chart_version="2030.1.0")
    with pytest.raises(helm_releases.ValuesError, match=r"2030\.1\.0 is not a daskhub release.*composed"):
        helm_values.render(model, ks.secrets(model))
    model = ks.model("local")
    secrets = ks.secrets(model)
    del secrets["cookie_secret"]
    with pytest.raises(helm_releases.ValuesError, match="daskhub_secrets lacks: cookie_secret"):
        helm_values.render(model, secrets)


def test_missing_chart_data_is_a_clear_error(tmp_path):
    _, _, rendered = render("local", daskhub_chart_mode="daskhub")
    with pytest.raises(helm_releases.ValuesError, match=r"no chart data for daskhub 2024\.1\.1"):
        chart_schema.validate(rendered, str(tmp_path))


# --- helm's coalescing rules and the YAML we write ----------------------------------------


def test_coalesce_follows_helm():
    defaults = {"a": {"b": 1, "c": {"d": 2}}, "e": [1], "f": 3, "g": {"h": 1}}
    values = {"a": {"c": {"x": 9}}, "e": [2], "f": None, "g": "scalar"}
    assert helm_merge.coalesce(values, defaults) == {"a": {"b": 1, "c": {"d": 2, "x": 9}}, "e": [2], "g": "scalar"}
    assert defaults == {"a": {"b": 1, "c": {"d": 2}}, "e": [1], "f": 3, "g": {"h": 1}}


def test_deep_merge_replaces_lists_and_merges_maps():
    assert helm_merge.deep_merge({"a": {"b": [1], "c": 1}}, {"a": {"b": [2]}}) == {"a": {"b": [2], "c": 1}}


def test_yaml_quotes_what_helm_would_misread_and_keeps_code_readable():
    text = yaml_io.dump_yaml({"tag": "1e3", "on": "yes", "num": "2024.01", "code": "a = 1\nb = 2\n", "plain": "x"})
    assert yaml.safe_load(text) == {"tag": "1e3", "on": "yes", "num": "2024.01", "code": "a = 1\nb = 2\n", "plain": "x"}
    assert 'tag: "1e3"' in text
    assert "code: |" in text
    assert "plain: x" in text


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("pangeo/pangeo-notebook:2024.01.15", ("pangeo/pangeo-notebook", "2024.01.15")),
        ("registry:5000/org/img:1.0", ("registry:5000/org/img", "1.0")),
        ("img@sha256:abc", ("img", "@sha256:abc")),
    ],
)
def test_split_image(image, expected):
    assert helm_values.split_image(image) == expected


# --- Filters used by the release and secrets roles -------------------------------------------


def test_values_diff_leaves_the_secrets_out():
    _model, secrets, rendered = render("local")
    release = rendered["releases"][0]
    deployed = helm_merge.deep_merge(release["values"], release["secrets"])
    placeholders = {"jupyterhub": {"proxy": {"secretToken": "x"}, "hub": {"cookieSecret": "x", "services": {}}}}
    assert filters.helm_values_diff(deployed, release["values"], release["secrets"]) == ""
    changed = helm_merge.deep_merge(release["values"], {"jupyterhub": {"singleuser": {"startTimeout": 42}}})
    diff = filters.helm_values_diff(deployed, changed, release["secrets"])
    assert "+    startTimeout: 42" in diff
    for value in secrets.values():
        assert value not in diff
    assert yaml_io.strip_secret_paths({"jupyterhub": {"proxy": {"secretToken": "t"}}}, placeholders) == {}


def test_redact_and_k8s_secret_round_trip():
    secrets = {"a": "x" * 64, "b": "y" * 64, "oauth_client_secret": "z" * 40}
    assert filters.redact_secrets(f"token={secrets['a']} other", secrets) == "token=******** other"
    model = {"dummy_password_set": False}
    names = filters.shared_secret_names(["a", "b", "oauth_client_secret", "dummy_password"], model)
    assert names == ["a", "b", "dummy_password"]
    assert "dummy_password" not in filters.shared_secret_names(["dummy_password"], {"dummy_password_set": True})
    data = filters.k8s_secret_data(secrets, names)
    assert set(data) == {"a", "b"}
    assert secrets["a"] not in str(data)
    assert filters.k8s_secret_decode(data, names) == {"a": secrets["a"], "b": secrets["b"]}
    assert filters.ingress_address({"ip": "1.2.3.4", "ipMode": "VIP"}) == "1.2.3.4"
    assert filters.ingress_address({"hostname": "lb.example"}) == "lb.example"
    assert filters.ingress_address(None) == ""


def test_pending_releases_compare_the_merged_values_files(tmp_path):
    """A values.yaml/secrets.yaml pair equal to what helm stores is not upgraded again."""
    _, _, rendered = render("example-site")
    release = rendered["releases"][0]
    values_file, secrets_file = tmp_path / "values.yaml", tmp_path / "secrets.yaml"
    values_file.write_text(yaml_io.dump_yaml(release["values"]))
    secrets_file.write_text(yaml_io.dump_yaml(release["secrets"]))
    item = {**release, "values_file": str(values_file), "secrets_file": str(secrets_file)}
    # What `helm get values` returns after `helm upgrade -f values.yaml -f secrets.yaml`.
    stored = yaml.safe_load(yaml.safe_dump(helm_merge.deep_merge(release["values"], release["secrets"])))
    deployed = {"status": "deployed", "chart": "daskhub-2024.1.1", "release_values": stored}
    assert filters.helm_pending_releases([{"item": item, "status": deployed}]) == []
    assert filters.helm_pending_releases([{"item": item, "status": None}]) == ["dhub"]
    older = {**deployed, "chart": "daskhub-2023.1.0"}
    assert filters.helm_pending_releases([{"item": item, "status": older}]) == ["dhub"]
    failed = {**deployed, "status": "failed"}
    assert filters.helm_pending_releases([{"item": item, "status": failed}]) == ["dhub"]
    rotated = helm_merge.deep_merge(stored, {"jupyterhub": {"proxy": {"secretToken": "0" * 64}}})
    assert filters.helm_pending_releases([{"item": item, "status": {**deployed, "release_values": rotated}}]) == [
        "dhub"
    ]
    # The deployed values hold the secrets; the diff shown in check mode does not.
    assert filters.helm_values_diff(deployed, release["values"], release["secrets"]) == ""
