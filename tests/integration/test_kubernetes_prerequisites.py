"""The daskhub_kubernetes_prerequisites role, run for real against a local mirror.

A web server on 127.0.0.1 plays get.helm.sh and dl.k8s.io: it serves a helm
release tarball the test builds from the real helm 4.1.4 binary of the npm
package, the official kubectl 1.35.2 binary from the same package (whose
sha256 is the one the role pins), and a chart repository index. The role
downloads, verifies and installs them, adds the repository with
kubernetes.core.helm_repository and checks a kubeconfig's context.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import io
import json
import os
import secrets
import subprocess
import tarfile
import threading
from importlib import metadata

import pytest
import yaml
from support import k8s_tools
from support.host_cases import run_host_cases
from support.kubeconfig import unreachable_kubeconfig
from support.playbooks import ROOT, recap, run_playbook

PINNED_KUBECTL = yaml.safe_load((ROOT / "roles/daskhub_kubernetes_prerequisites/defaults/main.yml").read_text())[
    "daskhub_kubernetes_kubectl_checksums"
]["1.35.2"]["linux-amd64"]
PLAYBOOK = """\
- name: Prepare the controller for a Kubernetes site
  hosts: daskhub
  gather_facts: false
  roles:
    - role: daskhub_kubernetes_prerequisites
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        self.server.requests.append(self.path)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """An HTTP mirror of the helm and kubectl release files and a chart repository."""
    tools = k8s_tools.tools()
    root = tmp_path_factory.mktemp("mirror")
    tarball = io.BytesIO()
    # Level 1: the role gunzips it all the same, and level 9 took 6 s of CPU for helm's 60 MB.
    with tarfile.open(fileobj=tarball, mode="w:gz", compresslevel=1) as archive:
        # The official tarball's layout: <os>-<arch>/helm, LICENSE, README.md.
        archive.add(tools["helm"], arcname="linux-amd64/helm")
        for name, text in (("LICENSE", b"Apache License 2.0\n"), ("README.md", b"helm\n")):
            info = tarfile.TarInfo(f"linux-amd64/{name}")
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    (root / "helm-v4.1.4-linux-amd64.tar.gz").write_bytes(tarball.getvalue())
    kubectl = root / "v1.35.2" / "bin" / "linux" / "amd64" / "kubectl"
    kubectl.parent.mkdir(parents=True)
    kubectl.write_bytes(tools["kubectl"].read_bytes())
    # /<case>/... is the mirror again, for each case of REFUSALS: its requests tell which case downloaded.
    for case in REFUSALS:
        (root / case).symlink_to(".")
    for repo in ("dask", "jupyterhub"):
        (root / "charts" / repo).mkdir(parents=True)
        index = {"apiVersion": "v1", "entries": {}, "generated": "2026-01-01T00:00:00Z"}
        (root / "charts" / repo / "index.yaml").write_text(yaml.safe_dump(index))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_address[1]}",
        "helm_sha256": hashlib.sha256(tarball.getvalue()).hexdigest(),
        "requests": server.requests,
    }
    server.shutdown()


@pytest.fixture
def site(tmp_path):
    inventory = tmp_path / "site"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text((ROOT / "inventories/local/hosts.yml").read_text())
    (inventory / "group_vars" / "daskhub.yml").write_text("daskhub_target: kubernetes\ndaskhub_chart_mode: composed\n")
    unreachable_kubeconfig(tmp_path / "kubeconfig", ["site-a", "site-b"], "site-b")
    (tmp_path / "playbook.yml").write_text(PLAYBOOK)
    (tmp_path / "downloads").mkdir()
    return tmp_path


def settings_for(site, mirror, base_url=None, **variables) -> dict:
    """The role's settings for a site in ``site`` that downloads from the mirror (at ``base_url`` when given)."""
    url = base_url or mirror["url"]
    settings = {
        "daskhub_kubernetes_bin_dir": str(site / "bin"),
        "daskhub_kubernetes_helm_download_base": url,
        "daskhub_kubernetes_kubectl_download_base": url + "/",
        "daskhub_kubernetes_helm_checksum": mirror["helm_sha256"],
        "daskhub_kubernetes_download_tmp": str(site / "downloads"),
        "daskhub_kubernetes_chart_repos": {
            "dask": f"{mirror['url']}/charts/dask/",
            "jupyterhub": f"{mirror['url']}/charts/jupyterhub/",
        },
        "daskhub_kubernetes_kubeconfig": str(site / "kubeconfig"),
        "daskhub_kubernetes_context": "site-a",
    }
    settings.update(variables)
    return settings


def play(site, mirror, *args, **variables):
    settings = settings_for(site, mirror, **variables)
    env = {
        **k8s_tools.helm_env(site / "helm-home"),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    playbook = str(site / "playbook.yml")
    return run_playbook(playbook, "-i", str(site / "site"), "-e", json.dumps(settings), *args, env=env)


def downloads(mirror):
    return [path for path in mirror["requests"] if "index.yaml" not in path]


def test_installs_verified_tools_once_and_adds_the_repositories(site, mirror):
    first = play(site, mirror)
    assert first.returncode == 0, first.stdout[-4000:]
    assert recap(first.stdout)["changed"] >= 3
    helm = site / "bin" / "helm"
    kubectl = site / "bin" / "kubectl"
    version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v4.1.4")
    # The official kubectl, verified against the checksum the role pins.
    assert hashlib.sha256(kubectl.read_bytes()).hexdigest() == PINNED_KUBECTL
    assert oct(helm.stat().st_mode & 0o777) == "0o755"
    repos = subprocess.run(
        [helm, "repo", "list", "--output", "json"],
        env=k8s_tools.helm_env(site / "helm-home"),
        capture_output=True,
        text=True,
        check=True,
    )
    # helm keeps the URL without its trailing slash
    assert {(r["name"], r["url"]) for r in json.loads(repos.stdout)} == {
        ("dask", f"{mirror['url']}/charts/dask"),
        ("jupyterhub", f"{mirror['url']}/charts/jupyterhub"),
    }
    assert list((site / "downloads").iterdir()) == []
    fetched = len(downloads(mirror))

    second = play(site, mirror)
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second.stdout)["changed"] == 0
    assert len(downloads(mirror)) == fetched, "the right versions are installed: nothing is downloaded again"


def test_check_mode_installs_nothing(site, mirror):
    before = len(downloads(mirror))
    result = play(site, mirror, "--check")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "helm 4.1.4 would be installed" in result.stdout
    assert not (site / "bin").exists()
    assert len(downloads(mirror)) == before


def test_without_a_site_kubeconfig_the_contexts_of_every_kubeconfig_file_count(site, mirror, monkeypatch):
    """$KUBECONFIG's files, as kubectl merges them (a missing one skipped); check mode checks it too."""
    token = secrets.token_hex(32)
    other = unreachable_kubeconfig(site / "other-kubeconfig", ["site-c"], "site-c", token=token)
    monkeypatch.setenv("KUBECONFIG", f"{site / 'kubeconfig'}:{site / 'absent'}:{other}")
    found = play(site, mirror, "--check", daskhub_kubernetes_kubeconfig="", daskhub_kubernetes_context="site-c")
    assert found.returncode == 0, found.stdout[-4000:]
    missing = play(
        site, mirror, "--check", "-vvv", daskhub_kubernetes_kubeconfig="", daskhub_kubernetes_context="site-d"
    )
    # The files are read, their credentials never shown, not even base64-encoded.
    for shown in (token, base64.b64encode(other.read_bytes()).decode()[:40]):
        assert shown not in found.stdout + missing.stdout
    assert missing.returncode != 0
    assert "daskhub_kubernetes_context: site-d is not a context of" in missing.stdout
    assert "(it has: site-a, site-b, site-c)" in missing.stdout
    assert not (site / "bin").exists()


# --- The pinned helm checksum ------------------------------------------------------------
# The mirror's helm tarball is built here from the official binary, so its
# sha256 cannot be the official tarball's: the tests above pass it through
# daskhub_kubernetes_helm_checksum. These two check the pin itself.
PINNED_HELM = yaml.safe_load((ROOT / "roles/daskhub_kubernetes_prerequisites/defaults/main.yml").read_text())[
    "daskhub_kubernetes_helm_checksums"
]["4.1.4"]["linux-amd64"]
OFFICIAL_HELM = "https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz"


def test_the_pinned_helm_checksum_is_the_official_tarballs():
    """The pin against the real file, where get.helm.sh answers (not on the offline CI machine)."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    try:
        with urllib.request.urlopen(OFFICIAL_HELM, timeout=10) as response:
            digest = hashlib.sha256(response.read()).hexdigest()
    except (urllib.error.URLError, OSError) as error:
        if os.environ.get("DASKHUB_TESTS_ONLINE"):  # the kind workflow, which has the internet
            raise
        pytest.skip(
            f"{OFFICIAL_HELM} is unreachable ({error}): the pinned sha256 of helm 4.1.4 is not checked against "
            "the official tarball here; the binary inside it is (tests/support/k8s_tools.py runs helm 4.1.4)"
        )
    assert digest == PINNED_HELM


# --- Refusals: every case a host of one run (support/host_cases.py) ---------------------
# Each case has its own bin, download and kubeconfig paths, and downloads
# from /<case>/ of the mirror, so its requests tell what it fetched.
REFUSALS = {
    "wrong_checksum": {"daskhub_kubernetes_helm_checksum": "0" * 64},
    "unpinned_version": {"daskhub_kubernetes_helm_checksum": "", "daskhub_kubernetes_helm_version": "4.0.0"},
    # No override: the role checks the download against its own pin, and a tarball that differs never installs.
    "pinned_checksum_enforced": {"daskhub_kubernetes_helm_checksum": ""},
    "unknown_context": {"daskhub_kubernetes_context": "other-site"},
    "missing_kubeconfig": {},
    "old_kubernetes_client": {"daskhub_kubernetes_python_client_min_version": "999.0.0"},
}


@pytest.fixture(scope="module")
def refusals(mirror, tmp_path_factory):
    """The role run once over every case of REFUSALS: (the run, each case's folder)."""
    root = tmp_path_factory.mktemp("refusals")
    inventory = root / "site"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "group_vars" / "daskhub.yml").write_text("daskhub_target: kubernetes\ndaskhub_chart_mode: composed\n")
    (root / "playbook.yml").write_text(PLAYBOOK)
    folders, cases = {}, {}
    for case, variables in REFUSALS.items():
        folder = folders[case] = root / case
        (folder / "downloads").mkdir(parents=True)
        if case != "missing_kubeconfig":
            unreachable_kubeconfig(folder / "kubeconfig", ["site-a", "site-b"], "site-b")
        cases[case] = settings_for(folder, mirror, base_url=f"{mirror['url']}/{case}", **variables)
    run = run_host_cases(root / "playbook.yml", inventory, cases, extra_env=k8s_tools.helm_homes(root / "helm-home"))
    return run, folders


def refused(refusals, mirror, case: str, *, downloaded: bool = False) -> str:
    """The case's failure message; fails unless it was refused with nothing installed (nor downloaded, unless
    ``downloaded``)."""
    run, folders = refusals
    message = run.refusal(case)
    assert not (folders[case] / "bin" / "helm").exists(), f"{case} installed helm"
    assert list((folders[case] / "downloads").iterdir()) == [], f"{case} left its downloads"
    fetched = [path for path in mirror["requests"] if path.startswith(f"/{case}/")]
    assert bool(fetched) == downloaded, f"{case} downloaded {fetched}"
    return message


def test_a_wrong_checksum_fails_clearly_and_leaves_nothing(refusals, mirror):
    message = refused(refusals, mirror, "wrong_checksum", downloaded=True)
    assert "helm 4.1.4 was not installed from" in message
    assert "checksum" in message.lower()
    assert "Nothing was installed" in message


def test_a_version_without_a_pinned_checksum_is_refused(refusals, mirror):
    assert "No sha256 is pinned for helm 4.0.0 on linux-amd64" in refused(refusals, mirror, "unpinned_version")
    assert not (refusals[1]["unpinned_version"] / "bin").exists()


def test_without_an_override_the_pinned_checksum_is_enforced(refusals, mirror):
    message = refused(refusals, mirror, "pinned_checksum_enforced", downloaded=True)
    assert "helm 4.1.4 was not installed from" in message
    assert PINNED_HELM in message, "the failure names the pinned sha256 it checked against"


def test_an_unknown_context_stops_the_run_before_anything_is_installed(refusals, mirror):
    message = refused(refusals, mirror, "unknown_context")
    assert "daskhub_kubernetes_context: other-site is not a context of" in message
    assert "site-a, site-b" in message
    assert not (refusals[1]["unknown_context"] / "bin").exists()


def test_a_missing_kubeconfig_stops_the_run_before_anything_is_installed(refusals, mirror):
    message = refused(refusals, mirror, "missing_kubeconfig")
    assert "daskhub_kubernetes_kubeconfig:" in message and "does not exist" in message
    assert not (refusals[1]["missing_kubeconfig"] / "bin").exists()


def test_a_kubernetes_client_older_than_the_minimum_stops_the_run_naming_the_version_found(refusals, mirror):
    installed = metadata.version("kubernetes")  # the controller's .venv, which runs kubernetes.core here
    message = refused(refusals, mirror, "old_kubernetes_client")
    assert "The Python kubernetes client >= 999.0.0 is needed" in message
    assert f"(found: {installed})" in message
    # Before the downloads: nothing was installed.
    assert not (refusals[1]["old_kubernetes_client"] / "bin").exists()
