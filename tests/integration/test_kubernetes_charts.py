"""Every inventory, both chart modes, through the real charts and real helm.

../shared/chart-repos is served over loopback and added by the
prerequisites role, as production adds helm.dask.org and hub.jupyter.org.
site.yml renders each inventory (render only) as a Kubernetes site in each
chart mode; each release then goes through `helm template` and
`helm lint --strict` with the chart pulled from the loopback repository, the
version and the values files the release role passes to kubernetes.core.helm,
and the manifests through kubernetes-validate --strict for the oldest and the
newest Kubernetes the charts support, with the gateway's NetworkPolicies the
release role applies beside them. Custom resources (Traefik's) are checked
against the CRDs the chart ships.
"""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.filter import helm_values as filters
from ansible_collections.daskhub.deploy.plugins.module_utils import yaml_io
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from support import charts
from support import kubernetes_site as ks
from support.versions import GATEWAY_VERSION

INVENTORIES = charts.inventories()

pytestmark = charts.LOOPBACK_CHARTS


@pytest.fixture
def chart_repos():
    try:
        return charts.session()[0]
    except charts.SharedMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture
def helm(chart_repos):
    """helm with the repositories the prerequisites role added (a composed site needs both)."""
    return charts.session()[1]


@pytest.fixture
def pulled(helm):
    """(chart, version) -> the chart folder `helm pull` fetched from the loopback repository."""
    return charts.pull


def test_the_prerequisites_role_adds_the_loopback_repositories(helm, chart_repos):
    assert helm.repos() == {name: url.rstrip("/") for name, url in chart_repos.urls.items()}
    assert any(path.endswith("/index.yaml") for path in chart_repos.requests)


@pytest.mark.parametrize("inventory", INVENTORIES, ids=charts.inventory_id)
def test_every_inventory_templates_lints_and_validates_in_both_modes(inventory, helm, pulled, tmp_path):
    rendered, run = charts.render_site(inventory, tmp_path)
    assert run.returncode == 0, run.stdout[-5000:]
    assert sorted(rendered) == sorted(charts.MODES)
    # A gateway LoadBalancer serves the HTTP API in plain HTTP: the run says so (issue 12, item 6).
    output = " ".join((run.stdout + run.stderr).split())  # warnings are wrapped to the terminal
    for mode, site in rendered.items():
        values = {r["key"]: r["rendered_values"] for r in site["releases"]}
        gateway = values["dask-gateway"] if "dask-gateway" in values else values["daskhub"]["dask-gateway"]
        load_balancer = gateway["traefik"]["service"]["type"] == "LoadBalancer"
        assert ("LoadBalancer also serves the gateway's HTTP API without TLS" in output
                or "LoadBalancer serves the gateway's HTTP API without TLS" in output) is load_balancer, mode
    problems = []
    for mode, site in rendered.items():
        chart_dirs = [pulled(r["chart"], r["version"]) for r in site["releases"]]
        oldest, newest = charts.kube_versions(chart_dirs)
        crds = charts.crd_schemas(chart_dirs)
        for release, chart_dir in zip(site["releases"], chart_dirs, strict=True):
            label = f"{mode}: {release['name']} ({release['chart']} {release['version']})"
            lint = helm.run(
                "lint", "--strict", str(chart_dir), *charts.helm_args(release, site["namespace"], newest), check=False
            )
            if lint.returncode != 0:
                problems.append(f"{label}: helm lint --strict:\n{lint.stdout}{lint.stderr}")
            for kube_version in (oldest, newest):
                templated = helm.run(
                    "template",
                    release["name"],
                    str(chart_dir),
                    *charts.helm_args(release, site["namespace"], kube_version),
                    check=False,
                )
                if templated.returncode != 0:
                    problems.append(f"{label}: helm template --kube-version {kube_version}:\n{templated.stderr}")
                    continue
                objects = charts.documents(templated.stdout)
                assert len(objects) > 10, f"{label}: {len(objects)} objects"
                problems += [f"{label}: {p}" for p in charts.validate_objects(objects, kube_version, crds)]
        # The gateway's NetworkPolicies, which the release role applies beside the releases.
        values = {r["key"]: r["rendered_values"] for r in site["releases"]}
        hub = values["jupyterhub"] if "jupyterhub" in values else values["daskhub"]["jupyterhub"]
        policies_on = hub["hub"]["networkPolicy"]["enabled"]
        assert bool(site["network_policies"]) is policies_on, f"{mode}: {len(site['network_policies'])} policies"
        for kube_version in (oldest, newest):
            problems += [
                f"{mode}: the gateway's policies: {p}"
                for p in charts.validate_objects(site["network_policies"], kube_version, crds)
            ]
    assert not problems, "\n".join(problems)


def _release_files(tmp_path, release):
    """The values files the helm_values module writes for a release (same dump, same split)."""
    values, secrets = tmp_path / "values.yaml", tmp_path / "secrets.yaml"
    values.write_text(yaml_io.dump_yaml(release["values"]))
    secrets.write_text(yaml_io.dump_yaml(release["secrets"]))
    return {**release, "values_file": str(values), "secrets_file": str(secrets)}


@pytest.mark.parametrize(
    ("mode", "extra", "path"),
    [
        ("daskhub", {"jupyterhub": {"hub": {"notAKey": 1}}}, "jupyterhub.hub.notAKey"),
        ("daskhub", {"jupyterhub": {"singleuser": {"startTimeout": "soon"}}}, "jupyterhub.singleuser.startTimeout"),
        ("daskhub", {"dask-gateway": {"traefik": {"service": {"loadBalancerIP": "1.2.3.4"}}}}, "traefik.service"),
        ("composed", {"dask-gateway": {"gateway": {"auth": {"type": "kerberos5"}}}}, "gateway.auth.type"),
    ],
)
def test_the_real_chart_rejects_what_our_validation_rejects(pulled, helm, tmp_path, mode, extra, path):
    """Our schema check and the chart's own values.schema.json in helm agree on bad values."""
    model = ks.model("local", daskhub_chart_mode=mode, daskhub_extra_values=extra)
    rendered = helm_values.render(model, ks.secrets(model))
    failing = [r for r in rendered["releases"] if chart_schema.validate_release(r, str(ks.CHART_DATA))]
    assert len(failing) == 1
    assert path in "\n".join(chart_schema.validate_release(failing[0], str(ks.CHART_DATA)))
    release = _release_files(tmp_path, failing[0])
    chart_dir = pulled(release["chart"], release["version"])
    result = helm.run(
        "template", release["name"], str(chart_dir), *charts.helm_args(release, "daskhub", "1.37.0"), check=False
    )
    assert result.returncode != 0
    assert "schema" in result.stderr.lower(), result.stderr


def test_crds_from_helm_show_crds_win_over_the_shipped_copies(helm, tmp_path):
    """The release role applies the shipped CRDs plus `helm show crds` of the target chart, as here."""
    crds = ks.REPO / f"roles/daskhub_kubernetes_release/files/crds/dask-gateway-{GATEWAY_VERSION}"
    shipped = sorted(crds.glob("*.yaml"))
    assert [p.name for p in shipped] == ["daskclusters.yaml"]
    shown = helm.run("show", "crds", "dask/dask-gateway", "--version", GATEWAY_VERSION).stdout
    from_chart = filters.crd_documents(["", shown])
    names = [c["metadata"]["name"] for c in from_chart]
    assert "daskclusters.gateway.dask.org" in names
    assert any(name.endswith(".traefik.io") for name in names), names  # not shipped: only the chart has them
    # A shipped copy that differs (an older one, say) loses to the chart's.
    stale = yaml.safe_load(shipped[0].read_text())
    stale["metadata"].setdefault("annotations", {})["daskhub.test/stale"] = "true"
    merged = filters.crd_documents([yaml.safe_dump(stale), shown])
    assert [c["metadata"]["name"] for c in merged] == names
    daskclusters = next(c for c in merged if c["metadata"]["name"] == "daskclusters.gateway.dask.org")
    assert "daskhub.test/stale" not in (daskclusters["metadata"].get("annotations") or {})
    assert all("status" not in c for c in merged)
    # Without the chart (an unreachable repository), the shipped copy is applied.
    only_shipped = filters.crd_documents([shipped[0].read_text(), ""])
    assert [c["metadata"]["name"] for c in only_shipped] == ["daskclusters.gateway.dask.org"]


def test_the_validation_is_not_vacuous(pulled):
    """An unknown field in a built-in object and in a Traefik object are both errors."""
    chart_dir = pulled("dask/dask-gateway", GATEWAY_VERSION)
    crds = charts.crd_schemas([chart_dir])
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    }
    assert charts.validate_objects([deployment], "1.37.0", crds) == []
    typo = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert "replica" in "".join(charts.validate_objects([typo], "1.37.0", crds))
    middleware = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "Middleware",
        "metadata": {"name": "m"},
        "spec": {"stripPrefix": {"prefixes": ["/x"]}},
    }
    assert charts.validate_objects([middleware], "1.37.0", crds) == []
    bad = {**middleware, "spec": {"stripPrefix": {"prefix": ["/x"]}}}
    assert "prefix" in "".join(charts.validate_objects([bad], "1.37.0", crds))
    unknown = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "no schema" in "".join(charts.validate_objects([unknown], "1.37.0", crds))
