"""Every inventory, both chart modes, through the real charts and real helm.

../shared/chart-repos is served over loopback and added by the
prerequisites role, as production adds helm.dask.org and hub.jupyter.org.
site.yml renders each inventory (render only) as a Kubernetes site in each
chart mode; each release then goes through `helm template` and
`helm lint --strict` with the chart pulled from the loopback repository, the
version and the values files the release role passes to kubernetes.core.helm,
and the manifests through kubernetes-validate --strict for the oldest and the
newest Kubernetes the charts support. Custom resources (Traefik's) are checked
against the CRDs the chart ships.
"""

from __future__ import annotations

import pytest
from support import charts

INVENTORIES = charts.inventories()


@pytest.fixture(scope="session")
def chart_repos():
    try:
        with charts.ChartRepos() as repos:
            yield repos
    except charts.SharedMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture(scope="session")
def helm(chart_repos, tmp_path_factory):
    """helm with the repositories the prerequisites role added (a composed site needs both)."""
    helm, result = charts.add_chart_repos(tmp_path_factory.mktemp("chart-repos"), chart_repos, "composed")
    assert result.returncode == 0, result.stdout[-4000:]
    return helm


@pytest.fixture(scope="session")
def pulled(helm, tmp_path_factory):
    """(chart, version) -> the chart folder `helm pull` fetched from the loopback repository."""
    folder = tmp_path_factory.mktemp("pulled")
    cache = {}

    def pull(chart, version):
        if (chart, version) not in cache:
            cache[(chart, version)] = helm.pull(chart, version, folder)
        return cache[(chart, version)]

    return pull


def test_the_prerequisites_role_adds_the_loopback_repositories(helm, chart_repos):
    assert helm.repos() == {name: url.rstrip("/") for name, url in chart_repos.urls.items()}
    assert any(path.endswith("/index.yaml") for path in chart_repos.requests)


@pytest.mark.parametrize("inventory", INVENTORIES, ids=charts.inventory_id)
def test_every_inventory_templates_lints_and_validates_in_both_modes(inventory, helm, pulled, tmp_path):
    rendered, run = charts.render_site(inventory, tmp_path)
    assert run.returncode == 0, run.stdout[-5000:]
    assert sorted(rendered) == sorted(charts.MODES)
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
    assert not problems, "\n".join(problems)
