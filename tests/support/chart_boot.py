"""The Kubernetes target's configuration, booted on one host as the pods run it.

For a chart mode: the project's own release role renders the values
(site.yml with daskhub_kubernetes_render_only=true writes them to
<state>/build/), the real chart templates them, and the templated
Deployments of the hub, the proxy and the gateway's API server run as local
processes in the Python environment of their images (support.chart_envs):

- Each pod's volumes (the hub Secret and ConfigMap, the gateway ConfigMap,
  the hub's database PVC) are laid out where the pod mounts them, in a
  private mount namespace (``unshare --mount``), so the chart's own loader
  reads its fixed paths, and the chart's own config files run unmodified.
- The pod's environment is the templated container env (secretKeyRef and
  fieldRef resolved) plus what Kubernetes injects for every Service
  (<NAME>_SERVICE_HOST/_PORT), pointed at 127.0.0.1 and this boot's ports.
- Only what needs a cluster is replaced, by a config file loaded after the
  chart's (tests/support/boot_configs/): KubeSpawner by a local spawner that
  gets the pod environment KubeSpawner would set, KubeBackend by the local
  backend, Services' DNS names and the pods' listening addresses by
  loopback ports.

The parts: support.boot_manifests (the templated objects, the kubelet's
env and volumes), support.boot_network (Services and DNS on loopback ports:
PORT_BASE + PORTS_PER_MODE per mode slot), support.boot_pods (a container as
a local process); this module renders, templates and wires the three pods.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from support import chart_envs, charts, hub_api
from support.boot_configs._cluster_dns import resolve
from support.boot_manifests import Manifests, env_of, expand, lay_out_volumes, pod_container
from support.boot_network import ClusterNetwork
from support.boot_pods import Pod, wait_for
from support.playbooks import ROOT, run_playbook
from support.site_models import EXAMPLE_VAULT

BOOT_CONFIGS = Path(__file__).resolve().parent / "boot_configs"
MODES = {
    # chart mode: (inventory, jupyterhub chart version of the hub image, port slot).
    # The example site as it ships (generic OAuth, HTTPS); composed on the
    # local inventory as a Kubernetes site, whose dummy login a test can use.
    "daskhub": ("example-site", "3.2.1", 0),
    "composed": ("local", "4.4.0", 1),
}
# The gateway's built-in proxy plays the traefik pod's part for the local backend.
TRAEFIK_PREFIX = "traefik-"
# The pods of a booted mode, in the order they start.
POD_ORDER = ("proxy", "gateway", "hub")


def render(inventory: str, state: Path, mode: str, **variables) -> subprocess.CompletedProcess:
    """site.yml with daskhub_kubernetes_render_only again on a rendered state (a rotation's run).

    The same settings charts.render_site gives the site, so the release
    role rewrites the same values files.
    """
    settings = {
        "daskhub_state_dir": str(state),
        "daskhub_target": "kubernetes",
        "daskhub_chart_mode": mode,
        "daskhub_kubernetes_render_only": True,
        **EXAMPLE_VAULT,
        **variables,
    }
    result = run_playbook("site.yml", "-i", str(ROOT / "inventories" / inventory), "-e", json.dumps(settings))
    if result.returncode:
        raise RuntimeError(f"render of {inventory} failed:\n{result.stdout[-4000:]}")
    return result


def template(site: dict, helm: charts.Helm, pulled: Path) -> list[dict]:
    """helm template of every release, with the chart pulled from the loopback repository; the objects."""
    chart_dirs = [helm.pull(release["chart"], release["version"], pulled) for release in site["releases"]]
    newest = charts.kube_versions(chart_dirs)[1]
    objects = []
    for release, chart_dir in zip(site["releases"], chart_dirs, strict=True):
        arguments = charts.helm_args(release, site["namespace"], newest)
        done = helm.run("template", release["name"], str(chart_dir), *arguments)
        objects += charts.documents(done.stdout)
    return objects


@dataclass
class BootedSite:
    """The hub, its proxy and the gateway of one chart mode, running."""

    mode: str
    inventory: str
    workdir: Path
    state: Path
    model: dict
    manifests: Manifests
    network: ClusterNetwork
    hub_version: str
    releases: dict  # what the release role hands to kubernetes.core.helm (charts.render_site)
    helm: charts.Helm
    pods: dict = field(default_factory=dict)
    # The settings beyond the inventory's that the running pods were rolled out with ({}: the inventory's own).
    rolled_out_with: dict = field(default_factory=dict)

    @property
    def public_url(self) -> str:
        """The proxy as users reach it; with HTTPS, behind the TLS terminator (autohttps, not run here)."""
        if 80 in self.network.services.get("proxy-public", {}):
            return self.network.url("proxy-public", 80)
        return self.network.url("proxy-http", 8000)

    @property
    def hub_api(self) -> str:
        return self.public_url + "/hub/api"

    @property
    def gateway_proxy_address(self) -> str:
        traefik = next(name for name in self.network.services if name.startswith(TRAEFIK_PREFIX))
        return f"gateway://127.0.0.1:{self.network.port(traefik)}"

    def store(self) -> dict:
        """The site's secrets store (the values the templated Secrets carry)."""
        return yaml.safe_load((self.state / "secrets.yml").read_text())

    def api(self, method: str, path: str, token: str, body=None):
        """The JSON answer of an API call (support.hub_api); an error answer raises HubAPIError."""
        return hub_api.call(self.hub_api, token, method, path, body=body)[1]

    def status(self, method: str, path: str, token: str, body=None) -> int:
        return hub_api.status_of(self.hub_api, token, method, path, body=body)

    def stop(self, pods=POD_ORDER):
        """Stop the named pods (every pod by default), the hub first."""
        for name in reversed(POD_ORDER):
            if name in pods and name in self.pods:
                self.pods[name].stop()


def _settings_file(workdir: Path, name: str, settings: dict) -> Path:
    path = workdir / f"{name}-boot.json"
    path.write_text(json.dumps(settings, indent=2))
    path.chmod(0o600)
    return path


def hub_deployment_names(manifests: Manifests) -> dict[str, str]:
    gateway = next(
        d["metadata"]["name"]
        for d in manifests.of_kind("Deployment")
        if d["metadata"]["name"].startswith("api-") and "dask-gateway" in d["metadata"]["name"]
    )
    # The gateway's built-in proxy plays the traefik pod's part.
    return {"hub": "hub", "proxy": "proxy", "gateway": gateway, "traefik": TRAEFIK_PREFIX + gateway[len("api-") :]}


def boot(mode: str, workdir: Path, helm: charts.Helm) -> BootedSite:
    """Render (the release role's files), template (the real chart) and start one chart mode's pods.

    helm has the loopback chart repositories added (charts.add_chart_repos).
    """
    from support import site_models  # noqa: PLC0415

    inventory, hub_chart, slot = MODES[mode]
    rendered, run = charts.render_site(ROOT / "inventories" / inventory, workdir / "render", modes=(mode,))
    if mode not in rendered:
        raise RuntimeError(f"render of {inventory} ({mode}) failed:\n{run.stdout[-4000:]}")
    model = site_models.build_model(
        ROOT / "inventories" / inventory, daskhub_target="kubernetes", daskhub_chart_mode=mode
    )
    manifests = Manifests(template(rendered[mode], helm, workdir / "charts"))
    site = BootedSite(
        mode=mode,
        inventory=inventory,
        workdir=workdir,
        state=workdir / "render" / mode / "state",
        model=model,
        manifests=manifests,
        network=ClusterNetwork(manifests, list(hub_deployment_names(manifests).values()), slot),
        hub_version=hub_chart,
        releases=rendered[mode],
        helm=helm,
    )
    start(site)
    return site


def start(site: BootedSite, pods=POD_ORDER):
    """Start the named pods (every pod by default), the proxy first and the hub last."""
    try:
        _start(site, pods)
    except BaseException:
        site.stop()
        raise


def _start(site: BootedSite, pods):
    names = hub_deployment_names(site.manifests)
    network = site.network
    hub_env = chart_envs.hub_env(site.hub_version)
    gateway_version = _gateway_chart_version(site.manifests)
    gateway_env = chart_envs.gateway_env(gateway_version)
    user_env = chart_envs.singleuser_env()
    from support.hubs import ensure_chp  # noqa: PLC0415  the one configurable-http-proxy the tests use

    chp = ensure_chp()
    service_env = network.service_env()
    base_path = "/usr/local/bin:/usr/bin:/bin"
    hosts = site.workdir / "hosts"
    hosts.write_text(network.hosts())
    cluster_dns = [(hosts, "/etc/hosts")]

    # The proxy pod: the chart's command, listening on loopback and this boot's ports.
    proxy = site.manifests.deployment(names["proxy"])
    container = pod_container(proxy)
    env = {**service_env, **env_of(container, site.manifests), "PATH": f"{chp.parent}:{base_path}"}
    argv = [expand(part, env) for part in container["command"] + (container.get("args") or [])]
    local_ports = {port: local for (name, port), local in network.pod_ports.items() if name == names["proxy"]}
    argv = [_proxy_arg(part, local_ports, network.settings()) for part in argv]
    argv[0] = str(chp)
    if "proxy" in pods:
        site.pods["proxy"] = Pod("proxy", site.workdir, env, argv, cluster_dns, str(site.workdir)).start()

    # The gateway pod: the chart's config, then the local backend in place of KubeBackend.
    gateway = site.manifests.deployment(names["gateway"])
    container = pod_container(gateway)
    (site.workdir / "gateway").mkdir(exist_ok=True)
    settings = {
        "network": network.settings(),
        "chart_config": container["args"][container["args"].index("--config") + 1],
        "address": f"127.0.0.1:{network.pod_ports[(names['gateway'], 8000)]}",
        "proxy_address": f"127.0.0.1:{network.port(_traefik_name(network))}",
        "prefix": _gateway_prefix(site),
        "dask": str(user_env / "bin" / "dask"),
        "clusters_directory": str(site.workdir / "gateway" / "clusters"),
    }
    env = {
        **service_env,
        **env_of(container, site.manifests),
        "PATH": f"{gateway_env / 'bin'}:{base_path}",
        "DASKHUB_BOOT_SETTINGS": str(_settings_file(site.workdir, "gateway", settings)),
    }
    mounts = cluster_dns + lay_out_volumes(gateway, site.manifests, site.workdir / "gateway", {})
    argv = [str(gateway_env / "bin" / "dask-gateway-server"), "--config", str(BOOT_CONFIGS / "gateway_local.py")]
    if "gateway" in pods:
        site.pods["gateway"] = Pod("gateway", site.workdir, env, argv, mounts, str(site.workdir / "gateway")).start()

    # The hub pod: the chart's jupyterhub_config.py over the templated Secret and ConfigMap.
    hub = site.manifests.deployment(names["hub"])
    container = pod_container(hub)
    args = container["args"]
    settings = {
        "network": network.settings(),
        "chart_config": args[args.index("--config") + 1],
        "hub_bind_url": f"http://127.0.0.1:{network.pod_ports[(names['hub'], 8081)]}",
        "pod_ports": {str(port): local for (name, port), local in network.pod_ports.items() if name == names["hub"]},
        "public_url": site.public_url,
        "singleuser_bin": str(user_env / "bin"),
        "home": str(site.workdir / "home"),
    }
    env = {
        **service_env,
        **env_of(container, site.manifests),
        "PATH": f"{hub_env / 'bin'}:{base_path}",
        "DASKHUB_BOOT_SETTINGS": str(_settings_file(site.workdir, "hub", settings)),
    }
    pvc = site.workdir / "hub-db"  # the PVC outlives a restart, as on the cluster
    mounts = cluster_dns + lay_out_volumes(hub, site.manifests, site.workdir / "hub", {"pvc": pvc})
    working_dir = next(target for source, target in mounts if source == pvc)
    argv = [str(hub_env / "bin" / "jupyterhub"), "--config", str(BOOT_CONFIGS / "hub_local.py"), *args[3:]]
    if "hub" in pods:
        site.pods["hub"] = Pod("hub", site.workdir, env, argv, mounts, working_dir).start()
        wait_for(site.hub_api + "/", site.pods["hub"])
    if "gateway" in pods:
        wait_for(f"http://{settings_address(site)}/api/health", site.pods["gateway"])


def settings_address(site: BootedSite) -> str:
    names = hub_deployment_names(site.manifests)
    return f"127.0.0.1:{site.network.pod_ports[(names['gateway'], 8000)]}"


def _traefik_name(network: ClusterNetwork) -> str:
    return next(name for name in network.services if name.startswith(TRAEFIK_PREFIX))


def _gateway_chart_version(manifests: Manifests) -> str:
    labels = manifests.deployment(hub_deployment_names(manifests)["gateway"])["metadata"]["labels"]
    return labels["helm.sh/chart"].rsplit("-", 1)[1]


def _gateway_prefix(site: BootedSite) -> str:
    text = site.manifests.configmap_data(hub_deployment_names(site.manifests)["gateway"])["dask_gateway_config.py"]
    properties = re.search(r"_PROPERTIES = json\.loads\((.*)\)\n", text.decode()).group(1)
    return json.loads(json.loads(properties))["gateway"].get("prefix", "/")


def _proxy_arg(part: str, local_ports: dict[int, int], network: dict) -> str:
    """configurable-http-proxy's flags with loopback and this boot's ports for the pod's own."""
    flag, _, value = part.partition("=")
    if flag in ("--ip", "--api-ip"):
        return f"{flag}=127.0.0.1"
    if flag in ("--port", "--api-port") and value.isdigit():
        return f"{flag}={local_ports[int(value)]}"
    return resolve(part, network)


def new_hub_token(site: BootedSite, service: str) -> str:
    """The current config token of a hub service, from the templated hub Secret's values."""
    values = yaml.safe_load(site.manifests.secret_data("hub")["values.yaml"])
    return values["hub"]["services"][service]["apiToken"]


def _pod_templates(site: BootedSite) -> dict[str, dict]:
    """Each pod's template in its Deployment: the charts' config checksums are annotations on it."""
    names = hub_deployment_names(site.manifests)
    return {pod: site.manifests.deployment(names[pod])["spec"]["template"] for pod in POD_ORDER}


def rollout(site: BootedSite, **variables):
    """helm upgrade, as far as this host goes: render with variables, template, and restart the pods whose
    template changed, as a Deployment rolls its pods (a changed config reaches a pod through its checksum)."""
    before = _pod_templates(site)
    render(site.inventory, site.state, site.mode, **variables)
    site.manifests = Manifests(template(site.releases, site.helm, site.workdir / "charts"))
    changed = [pod for pod, spec in _pod_templates(site).items() if spec != before[pod]]
    site.stop(changed)
    start(site, changed)
    # A rotation's new values stay in the store: the inventory's own render is what runs after it.
    site.rolled_out_with = {name: value for name, value in variables.items() if name != "daskhub_secrets_rotate"}


@contextlib.contextmanager
def booted(mode: str, helm: charts.Helm):
    workdir = Path(tempfile.mkdtemp(prefix=f"k8sboot-{mode}-", dir="/tmp"))
    site = None
    try:
        site = boot(mode, workdir, helm)
        yield site
    finally:
        if site is not None:
            site.stop()
        # DASKHUB_KEEP_BOOT=1 keeps the pods' logs and files for a look after a failure.
        if not os.environ.get("DASKHUB_KEEP_BOOT"):
            shutil.rmtree(workdir, ignore_errors=True)
