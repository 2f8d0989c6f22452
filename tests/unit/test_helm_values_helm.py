"""Our schema validation agrees with real helm 4 on the same values files.

helm cannot template the real charts here (no chart tarballs), but it
validates values the same way for any chart: these tests build charts that
carry only the real defaults and schemas (no templates) and run
`helm template` on them with our rendered values.yaml and secrets.yaml. For
the umbrella chart, the subcharts sit in charts/, as in the daskhub package.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils import helm_values as hv
from support import k8s_tools
from support import kubernetes_site as ks


@pytest.fixture(scope="module")
def helm():
    return str(k8s_tools.tools()["helm"])


def _chart(folder, name, version, data_dir=None):
    folder.mkdir(parents=True)
    (folder / "Chart.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v2", "name": name, "version": version, "appVersion": version})
    )
    data_dir = data_dir or ks.CHART_DATA / f"{name}-{version}"
    (folder / "values.yaml").write_text((data_dir / "values.yaml").read_text())
    schema = data_dir / "values.schema.yaml"
    if schema.exists():
        (folder / "values.schema.json").write_text(json.dumps(yaml.safe_load(schema.read_text())))


def build_charts(tmp_path, release):
    """A schema-only stand-in for the release's chart (and its subcharts)."""
    root = tmp_path / "chart"
    if release.get("defaults"):
        _chart(root, *release["defaults"])
        for section, (chart, version) in release["sections"].items():
            _chart(root / "charts" / section, chart, version)
    else:
        (chart, version) = release["sections"][""]
        _chart(root, chart, version)
    return root


def helm_template(helm, tmp_path, release):
    chart = build_charts(tmp_path, release)
    values = tmp_path / "values.yaml"
    secrets = tmp_path / "secrets.yaml"
    values.write_text(hv.dump_yaml(release["values"]))
    secrets.write_text(hv.dump_yaml(release["secrets"]))
    env = k8s_tools.helm_env(tmp_path / "helm-home")
    return subprocess.run(
        [helm, "template", release["name"], str(chart), "--values", str(values), "--values", str(secrets)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("mode", ["daskhub", "composed"])
@pytest.mark.parametrize("inventory", ks.inventory_names())
def test_helm_accepts_what_we_validate(helm, tmp_path, inventory, mode):
    model = ks.model(inventory, daskhub_chart_mode=mode)
    rendered = hv.render(model, ks.secrets(model))
    for index, release in enumerate(rendered["releases"]):
        assert hv.validate_release(release, str(ks.CHART_DATA)) == []
        result = helm_template(helm, tmp_path / str(index), release)
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("mode", "extra", "path"),
    [
        ("daskhub", {"jupyterhub": {"hub": {"notAKey": 1}}}, "jupyterhub.hub.notAKey"),
        ("daskhub", {"jupyterhub": {"singleuser": {"startTimeout": "soon"}}}, "jupyterhub.singleuser.startTimeout"),
        ("daskhub", {"dask-gateway": {"traefik": {"service": {"loadBalancerIP": "1.2.3.4"}}}}, "traefik.service"),
        ("composed", {"dask-gateway": {"gateway": {"auth": {"type": "kerberos5"}}}}, "gateway.auth.type"),
    ],
)
def test_helm_rejects_what_we_reject(helm, tmp_path, mode, extra, path):
    model = ks.model("local", daskhub_chart_mode=mode, daskhub_extra_values=extra)
    rendered = hv.render(model, ks.secrets(model))
    failing = [r for r in rendered["releases"] if hv.validate_release(r, str(ks.CHART_DATA))]
    assert len(failing) == 1
    ours = "\n".join(hv.validate_release(failing[0], str(ks.CHART_DATA)))
    assert path in ours
    result = helm_template(helm, tmp_path, failing[0])
    assert result.returncode != 0
    assert "schema" in result.stderr.lower(), result.stderr


def test_crds_from_helm_show_crds_win_over_the_shipped_copies(helm, tmp_path):
    """The release role applies shipped CRDs plus `helm show crds` of the target chart version."""
    from ansible_collections.daskhub.deploy.plugins.filter import helm_values as filters  # noqa: PLC0415

    shipped = sorted((ks.REPO / "roles/daskhub_kubernetes_release/files/crds/dask-gateway-2026.3.0").glob("*.yaml"))
    assert [p.name for p in shipped] == ["daskclusters.yaml"]
    # A gateway chart whose crds/ has the daskclusters CRD (one more version
    # served) and a Traefik CRD that is not shipped.
    chart = tmp_path / "dask-gateway"
    _chart(chart, "dask-gateway", "2026.3.0")
    (chart / "crds").mkdir()
    daskclusters = yaml.safe_load(shipped[0].read_text())
    daskclusters["spec"]["versions"].append(
        {**daskclusters["spec"]["versions"][0], "name": "v1beta1", "storage": False}
    )
    (chart / "crds" / "daskclusters.yaml").write_text(yaml.safe_dump(daskclusters))
    traefik = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "serverstransporttcps.traefik.io"},
        "spec": {"group": "traefik.io", "names": {"kind": "ServersTransportTCP", "plural": "serverstransporttcps"}},
    }
    (chart / "crds" / "traefik.yaml").write_text("# Traefik's\n---\n" + yaml.safe_dump(traefik))
    shown = subprocess.run(
        [helm, "show", "crds", str(chart)],
        capture_output=True,
        text=True,
        env=k8s_tools.helm_env(tmp_path / "helm-home"),
        check=True,
        timeout=60,
    ).stdout
    crds = filters.crd_documents([p.read_text() for p in shipped] + [shown])
    assert [c["metadata"]["name"] for c in crds] == ["daskclusters.gateway.dask.org", "serverstransporttcps.traefik.io"]
    assert [v["name"] for v in crds[0]["spec"]["versions"]] == ["v1alpha1", "v1beta1"]
    assert all("status" not in c for c in crds)
    # Without the chart (an unreachable repository), the shipped copy is applied.
    only_shipped = filters.crd_documents([p.read_text() for p in shipped] + [""])
    assert [v["name"] for v in only_shipped[0]["spec"]["versions"]] == ["v1alpha1"]
