"""The real charts in tests: ../shared/chart-repos served as chart repositories.

`../shared/chart-repos/dask` and `../shared/chart-repos/jupyterhub` are laid
out as `helm repo index` makes them. `ChartRepos` serves them over loopback
(an ephemeral port on 127.0.0.1), so the prerequisites role adds them with
kubernetes.core.helm_repository exactly as it adds https://helm.dask.org and
https://hub.jupyter.org/helm-chart/ in production (through
`daskhub_kubernetes_chart_repos`). After that, `helm pull`, `helm template`
and `helm lint` resolve `dask/daskhub`, `jupyterhub/jupyterhub` and
`dask/dask-gateway` from them, with the helm home the role wrote to.

The shared folder is found from the repository root (its parent holds
shared/); a missing one is a test failure that says where it was looked
for, never a silently smaller test.
"""

from __future__ import annotations

import atexit
import functools
import http.server
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path

import pytest
import yaml

from support import k8s_tools
from support.kubeconfig import unreachable_kubeconfig
from support.playbooks import ansible_env, run_playbook
from support.site_models import EXAMPLE_VAULT

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CHART_REPOS = SHARED / "chart-repos"
REPO_NAMES = ("dask", "jupyterhub")


class SharedMissing(RuntimeError):
    """../shared (or a folder in it) is not beside this checkout."""


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or SharedMissing naming where it was expected."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise SharedMissing(
            f"{path} does not exist: the test fixtures live in ../shared beside the checkout "
            f"({REPO}); see DEVELOPERS.md"
        )
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output for failures
        self.server.requests.append(self.path)


class ChartRepos:
    """Serve ../shared/chart-repos on 127.0.0.1 while the context is open.

    `urls` maps each repository name to its URL, the shape of
    daskhub_kubernetes_chart_repos; `requests` lists the paths fetched.
    """

    def __init__(self, port: int = 0):
        self.root = shared_path("chart-repos")
        for name in REPO_NAMES:
            shared_path("chart-repos", name, "index.yaml")
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.requests = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"{self.base_url}/{name}/" for name in REPO_NAMES}

    @property
    def requests(self) -> list[str]:
        return self._server.requests

    def __enter__(self) -> ChartRepos:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- helm with one home -----------------------------------------------------------


class Helm:
    """The tests' real helm 4, with config, cache and data under `home`."""

    def __init__(self, home: Path):
        self.binary = str(k8s_tools.tools()["helm"])
        self.home = home
        self.env = k8s_tools.helm_env(home)

    def run(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args[:2])} failed ({result.returncode}):\n{result.stderr}")
        return result

    def repos(self) -> dict[str, str]:
        """Name -> URL of the repositories in this home (what helm_repository added)."""
        path = self.home / "config" / "repositories.yaml"
        if not path.exists():
            return {}
        entries = yaml.safe_load(path.read_text()).get("repositories") or []
        return {entry["name"]: entry["url"] for entry in entries}

    def pull(self, chart: str, version: str, dest: Path) -> Path:
        """`helm pull <repo>/<chart> --version v --untar`: the chart folder, from the repository."""
        target = dest / f"{chart.replace('/', '_')}-{version}"
        if not target.exists():
            target.mkdir(parents=True)
            self.run("pull", chart, "--version", version, "--untar", "--untardir", str(target))
        (folder,) = [p for p in target.iterdir() if p.is_dir()]
        return folder


# --- What the charts say about Kubernetes versions -------------------------------------

_LOWER_BOUND = re.compile(r"^\s*>=\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:-0)?\s*$")


def chart_files(chart_dir: Path) -> list[dict]:
    """Chart.yaml of the chart and of every subchart it carries (folders or tarballs in charts/)."""
    found = [yaml.safe_load((chart_dir / "Chart.yaml").read_text())]
    for sub in sorted((chart_dir / "charts").glob("*")) if (chart_dir / "charts").is_dir() else []:
        if sub.is_dir():
            found += chart_files(sub)
        elif sub.name.endswith(".tgz"):
            with tarfile.open(sub) as archive:
                top = [m for m in archive.getmembers() if m.name.count("/") == 1]
                member = next(m for m in top if m.name.endswith("/Chart.yaml"))
                found.append(yaml.safe_load(archive.extractfile(member).read()))
    return found


def kube_lower_bound(chart_dirs: list[Path]) -> tuple[int, int]:
    """The oldest Kubernetes minor every chart (and subchart) accepts, from their kubeVersion."""
    bounds = []
    for chart_dir in chart_dirs:
        for chart in chart_files(chart_dir):
            constraint = chart.get("kubeVersion")
            if not constraint:
                continue
            match = _LOWER_BOUND.match(str(constraint))
            if not match:
                raise AssertionError(
                    f"{chart['name']} {chart['version']}: kubeVersion {constraint!r} is not a plain lower bound; "
                    "teach tests/support/charts.py to read it"
                )
            bounds.append((int(match.group(1)), int(match.group(2))))
    if not bounds:
        raise AssertionError(f"none of {chart_dirs} declares a kubeVersion")
    return max(bounds)


def kube_versions(chart_dirs: list[Path]) -> tuple[str, str]:
    """(oldest, newest) Kubernetes version to check the manifests against.

    Oldest: the charts' own lower bound. Newest: the newest release
    kubernetes-validate has schemas for (no chart sets an upper bound).
    The oldest must have schemas too, or the check would silently be weaker.
    """
    from kubernetes_validate import utils  # noqa: PLC0415 - only tests that validate need it

    known = sorted({tuple(int(p) for p in v.split(".")[:2]) for v in utils.all_versions()})
    low = kube_lower_bound(chart_dirs)
    if low not in known:
        raise AssertionError(
            f"kubernetes-validate {utils.__name__} has no schemas for Kubernetes {low[0]}.{low[1]}, "
            f"the oldest the charts support (it knows {known[0][0]}.{known[0][1]} to {known[-1][0]}.{known[-1][1]})"
        )
    newest = known[-1]
    return f"{low[0]}.{low[1]}.0", f"{newest[0]}.{newest[1]}.0"


# --- Validating what helm template printed ---------------------------------------------


def documents(manifest_text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(manifest_text) if doc]


def crd_schemas(chart_dirs: list[Path]) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> openAPIV3Schema of the CRDs in the charts' crds/ folders."""
    schemas = {}
    for chart_dir in chart_dirs:
        for path in sorted(chart_dir.rglob("crds/*.yaml")):
            for crd in documents(path.read_text()):
                if crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                for version in spec["versions"]:
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def _strict(schema: dict) -> dict:
    """A CRD's structural schema as the API server prunes it: unknown fields are errors here."""
    schema = dict(schema)
    if "properties" in schema:
        schema["properties"] = {key: _strict(value) for key, value in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    if isinstance(schema.get("items"), dict):
        schema["items"] = _strict(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _strict(schema["additionalProperties"])
    return schema


def _cache_schema_files(utils) -> None:
    """Read each schema file of kubernetes-validate once per process, not once per object.

    Its validate() parses the version's _definitions.json (megabytes) for
    every object; the files never change, so the parsed copy is reused.
    """
    if not hasattr(utils.schema_contents, "cache_info"):
        utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)


def validate_objects(objects: list[dict], kube_version: str, crds: dict) -> list[str]:
    """kubernetes-validate --strict for built-in kinds, the charts' CRD schemas for custom ones.

    Returns one message per invalid object; an object of a kind neither
    knows is an error, never skipped.
    """
    import jsonschema  # noqa: PLC0415
    from kubernetes_validate import utils  # noqa: PLC0415

    _cache_schema_files(utils)
    problems = []
    for obj in objects:
        name = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key in crds:
            # The API server checks apiVersion, kind and metadata itself; the
            # CRD's schema is for the rest (spec).
            envelope = ("apiVersion", "kind", "metadata")
            schema = _strict(crds[key])
            schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in envelope}
            schema["required"] = [k for k in schema.get("required", []) if k not in envelope]
            body = {k: v for k, v in obj.items() if k not in envelope}
            for error in jsonschema.Draft7Validator(schema).iter_errors(body):
                problems.append(f"{name} ({kube_version}): {'.'.join(map(str, error.absolute_path))}: {error.message}")
            continue
        try:
            utils.validate(obj, kube_version, strict=True)
        except utils.ValidationError as error:
            problems.append(f"{name} ({kube_version}): {'.'.join(map(str, error.path))}: {error.message}")
        except utils.SchemaNotFoundError as error:
            problems.append(f"{name} ({kube_version}): no schema: {error}")
    return problems


# --- The project's own roles, run for the inputs helm gets --------------------------------

_PREREQUISITES_PLAY = """\
- name: Add the chart repositories as a site's run does
  hosts: daskhub
  gather_facts: false
  roles:
    - role: daskhub_kubernetes_prerequisites
"""

_RENDER_PLAY = """\
- name: The site's own run, render only
  ansible.builtin.import_playbook: {site}

- name: Hand the tests what the release role would pass to helm
  hosts: daskhub_target_kubernetes
  gather_facts: false
  roles:
    - role: daskhub_model
  tasks:
    - name: Write the releases (names, charts, versions, files; the values hold no secret)
      ansible.builtin.copy:
        content: >-
          {{{{ {{'namespace': daskhub_namespace, 'releases': daskhub_kubernetes_values_rendered.releases,
                'network_policies': daskhub_kubernetes_values_rendered.network_policies}} | to_nice_json }}}}
        dest: "{{{{ daskhub_state_dir }}}}/releases.json"
        mode: "0600"
"""


def inventories() -> list[Path]:
    """Every inventory the repository ships: inventories/* and molecule/*/inventory."""
    found = [p for p in sorted((REPO / "inventories").iterdir()) if (p / "group_vars").is_dir()]
    found += sorted(p for p in (REPO / "molecule").glob("*/inventory") if p.is_dir())
    return found


def inventory_id(inventory: Path) -> str:
    return str(inventory.relative_to(REPO))


def inventory_env(inventory: Path, scratch: Path) -> dict[str, str]:
    """The environment molecule gives a scenario's inventory (its ephemeral and scenario folders)."""
    env = {}
    if inventory.parent.parent.name == "molecule":
        ephemeral = scratch / "ephemeral"
        ephemeral.mkdir(parents=True, exist_ok=True)
        env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(ephemeral)
        env["MOLECULE_SCENARIO_DIRECTORY"] = str(inventory.parent)
    return env


def add_chart_repos(scratch: Path, repos: ChartRepos, mode: str) -> tuple[Helm, subprocess.CompletedProcess]:
    """Run daskhub_kubernetes_prerequisites for a site of this chart mode against the loopback repositories.

    helm and kubectl are the pinned versions already, so the role downloads
    nothing; the kubeconfig is one whose cluster never answers (the role only
    reads its contexts). Returns the helm whose home the role wrote to.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    site = scratch / "site"
    (site / "group_vars").mkdir(parents=True, exist_ok=True)
    (site / "hosts.yml").write_text((REPO / "inventories" / "local" / "hosts.yml").read_text())
    (site / "group_vars" / "daskhub.yml").write_text(f"daskhub_target: kubernetes\ndaskhub_chart_mode: {mode}\n")
    playbook = scratch / "prerequisites.yml"
    playbook.write_text(_PREREQUISITES_PLAY)
    kubeconfig = unreachable_kubeconfig(scratch / "kubeconfig", ["site"], "site")
    helm = Helm(scratch / "helm-home")
    settings = {
        "daskhub_kubernetes_bin_dir": str(Path(helm.binary).parent),
        "daskhub_kubernetes_chart_repos": repos.urls,
        "daskhub_kubernetes_kubeconfig": str(kubeconfig),
        "daskhub_kubernetes_context": "site",
    }
    result = run_playbook(str(playbook), "-i", str(site), "-e", json.dumps(settings), env=ansible_env(**helm.env))
    return helm, result


MODES = ("daskhub", "composed")


def render_site(inventory: Path, scratch: Path, modes=MODES) -> tuple[dict, subprocess.CompletedProcess]:
    """site.yml of the inventory with daskhub_kubernetes_render_only, as a Kubernetes site of each chart mode.

    One run: the inventory plus one host per mode (`render-<mode>`, the
    controller again) whose host vars set daskhub_chart_mode and a state dir
    of its own; the inventory's group_vars apply to them as to its own host.
    Returns ({mode: {namespace, releases: [{key, name, chart, version,
    values_file, secrets_file, ...}], network_policies: [...]}}, the run):
    exactly what daskhub_kubernetes_release hands to kubernetes.core.helm,
    and the NetworkPolicies it applies with kubernetes.core.k8s.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    playbook = scratch / "render.yml"
    playbook.write_text(_RENDER_PLAY.format(site=REPO / "site.yml"))
    hosts = {
        f"render-{mode}": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "daskhub_chart_mode": mode,
            "daskhub_state_dir": str(scratch / mode / "state"),
        }
        for mode in modes
    }
    (scratch / "modes.yml").write_text(yaml.safe_dump({"daskhub": {"hosts": hosts}}))
    settings = {"daskhub_target": "kubernetes", "daskhub_kubernetes_render_only": True, **EXAMPLE_VAULT}
    env = ansible_env(**inventory_env(inventory, scratch))
    result = run_playbook(
        str(playbook),
        "-i",
        str(inventory),
        "-i",
        str(scratch / "modes.yml"),
        "--limit",
        ",".join(hosts),
        "-e",
        json.dumps(settings),
        env=env,
    )
    rendered = {}
    for mode in modes:
        releases_file = scratch / mode / "state" / "releases.json"
        if releases_file.exists():
            rendered[mode] = json.loads(releases_file.read_text())
    return rendered, result


def helm_args(release: dict, namespace: str, kube_version: str) -> list[str]:
    """The arguments kubernetes.core.helm gives `helm upgrade --install`, as helm template/lint take them."""
    return [
        "--namespace",
        namespace,
        "--kube-version",
        kube_version,
        "--values",
        release["values_file"],
        "--values",
        release["secrets_file"],
    ]


# --- One loopback repository and one helm home per test process ------------------------------

# The test modules that template the real charts: one xdist group, so that
# one worker runs the prerequisites role and pulls each chart once, where
# each worker that took one of their tests did (3.3 s of CPU a run).
LOOPBACK_CHARTS = pytest.mark.xdist_group("loopback_charts")


@functools.cache
def session() -> tuple[ChartRepos, Helm, Path]:
    """The loopback repositories, added once by the prerequisites role, for every test of the process.

    Returns (repos, helm, pull folder). Cached per process, so the test
    modules that template the real charts share one prerequisites run (an
    xdist worker is one process). Raises SharedMissing without ../shared,
    AssertionError when the role fails.
    """
    scratch = Path(tempfile.mkdtemp(prefix="daskhub-k8s-charts-"))
    atexit.register(shutil.rmtree, scratch, True)
    repos = ChartRepos().__enter__()
    atexit.register(repos.__exit__, None, None, None)
    helm, result = add_chart_repos(scratch / "repos", repos, "composed")
    if result.returncode != 0:
        raise AssertionError(f"the prerequisites role did not add the chart repositories:\n{result.stdout[-4000:]}")
    return repos, helm, scratch / "pulled"


def pull(chart: str, version: str) -> Path:
    """The chart folder of <repo>/<chart> at this version, pulled once per process from the loopback repository."""
    _, helm, folder = session()
    return helm.pull(chart, version, folder)
