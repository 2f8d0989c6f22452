"""The local target's rendering and host checks (plugins/module_utils/render/local/, host/)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.daskhub.deploy.plugins.filter import local_stack as filters
from ansible_collections.daskhub.deploy.plugins.module_utils.model import cull as cull_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import addresses as local_addresses
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import documents as local_documents
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import paths as local_paths
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import usage as local_usage
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import local_settings as settings_checks
from dask_gateway_server.models import User
from support import kubernetes_site as ks
from support import service_files
from support.playbooks import ROOT
from support.site_models import local_settings
from support.versions import GATEWAY_VERSION
from traitlets.config import Config


def settings(tmp_path=None, **overrides):
    return local_settings(tmp_path, **overrides)


@pytest.fixture(scope="module")
def model():
    return ks.model("local", daskhub_target="local")


@pytest.fixture(scope="module")
def secrets(model):
    return ks.secrets(model)


# --- Settings ------------------------------------------------------------------


def test_default_settings_are_valid():
    assert settings_checks.check_settings(settings()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gateway_port": 8000}, "daskhub_local_gateway_port: port 8000 is also daskhub_local_hub_port"),
        ({"hub_port": 70000}, "daskhub_local_hub_port: must be a TCP port (1-65535), got 70000"),
        ({"hub_port": True}, "daskhub_local_hub_port: must be a TCP port (1-65535), got True"),
        ({"bind_ip": "localhost"}, "daskhub_local_bind_ip: not an IP address: 'localhost'"),
        ({"prefix": "daskhub"}, "daskhub_local_prefix: must be an absolute path, got 'daskhub'"),
        ({"system_users": True}, "daskhub_local_system_users: true needs the play to run as root"),
        ({"system_users_requested": "yes please"}, "daskhub_local_system_users: must be auto, true or false"),
        (
            {"run_as_root": True, "service_user": "Dask Hub"},
            "daskhub_local_service_user: the account the services run as in the shared-uid mode",
        ),
    ],
)
def test_bad_settings_are_named(overrides, message):
    errors = settings_checks.check_settings(settings(**overrides))
    assert any(error.startswith(message) for error in errors), errors


def test_bad_settings_stop_rendering_with_every_problem(model):
    with pytest.raises(settings_checks.LocalSettingsError) as caught:
        local_documents.hub_document(model, settings(hub_port=0, bind_ip="nowhere"))
    assert "daskhub_local_hub_port" in str(caught.value)
    assert "daskhub_local_bind_ip" in str(caught.value)


def test_public_url_prefers_the_model_then_the_bind_address(model):
    assert local_addresses.public_url(model, settings()) == "http://127.0.0.1:8000"
    wildcard = settings(bind_ip="0.0.0.0", fqdn="hub.example.org")  # noqa: S104 - a setting, not a bind
    assert local_addresses.public_url(model, wildcard) == "http://hub.example.org:8000"
    assert local_addresses.public_url(model, settings(bind_ip="::1")) == "http://[::1]:8000"
    explicit = dict(model, hub_public_url="https://hub.example.org/")
    assert local_addresses.public_url(explicit, settings()) == "https://hub.example.org"


# --- The hub ---------------------------------------------------------------------


def test_hub_document_is_the_shared_config_plus_the_local_process_settings(model):
    document = local_documents.hub_document(model, settings())
    config = document["config"]
    shared = hub_model.hub_config(model, GATEWAY_VERSION)
    for section, traits in shared.items():
        for trait, value in traits.items():
            assert config[section][trait] == value, (section, trait)
    assert config["JupyterHub"]["spawner_class"] == local_documents.SIMPLE_SPAWNER
    assert config["JupyterHub"]["bind_url"] == "http://127.0.0.1:8000"
    assert config["JupyterHub"]["hub_bind_url"] == "http://127.0.0.1:8081"
    assert config["JupyterHub"]["db_url"] == "sqlite:////opt/daskhub/state/jupyterhub.sqlite"
    assert config["JupyterHub"]["upgrade_db"] is True
    # The shared roles, then the culler's, which only the local target defines (the chart has its own).
    shared_roles = hub_model.hub_roles(model, GATEWAY_VERSION)
    assert config["JupyterHub"]["load_roles"] == [*shared_roles, cull_model.local_role(model)]
    assert config["ConfigurableHTTPProxy"]["command"] == [
        "/opt/daskhub/proxy/node_modules/.bin/configurable-http-proxy"
    ]
    assert config["Spawner"]["cmd"] == ["/opt/daskhub/venv/bin/jupyterhub-singleuser"]
    assert "args" not in config["Spawner"]
    # The site's start timeout bounds the wait for the server's HTTP too: that is the local start.
    spawner = config["Spawner"]
    assert spawner["http_timeout"] == spawner["start_timeout"] == model["singleuser"]["start_timeout"]
    assert config["SimpleLocalProcessSpawner"]["home_dir_template"] == "/opt/daskhub/home/{username}"


def test_users_get_the_shared_gateway_environment(model):
    environment = local_documents.hub_document(model, settings())["config"]["Spawner"]["environment"]
    # What GatewayCluster() reads in a notebook, with no argument: the hub's
    # public port for the API, the gateway's proxy port for the scheduler.
    assert environment["DASK_GATEWAY__ADDRESS"] == "http://127.0.0.1:8000/services/dask-gateway"
    assert environment["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://127.0.0.1:8002"
    assert environment["DASK_GATEWAY__PUBLIC_ADDRESS"] == "http://127.0.0.1:8000/services/dask-gateway"
    assert environment["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"


def test_both_targets_give_servers_the_same_jupyter_config_and_dask_panel_extension(model, secrets):
    # JupyterLab's announcements plugin is off for the whole site: no "official Jupyter news?" prompt;
    # the Dask panel's server extension is on, and jupyter-server-proxy may reach the gateway's host.
    extension = (service_files.SHARED / "notebook/daskhub_dask_panel.py").read_text()

    def expected(gateway_host):
        return {
            "labconfig/page_config.json": {"disabledExtensions": {hub_model.ANNOUNCEMENTS_PLUGIN: True}},
            "jupyter_server_config.d/daskhub.json": {
                "ServerApp": {"jpserver_extensions": {"daskhub_dask_panel": True}},
                "ServerProxy": {"host_allowlist": sorted({"127.0.0.1", "localhost", gateway_host})},
            },
            "daskhub-python/daskhub_dask_panel.py": extension,
        }

    # Local: files under etc/jupyter, named in the servers' JUPYTER_CONFIG_PATH, read by a server as it starts.
    chosen = settings()
    root = local_paths.paths(chosen["prefix"])["jupyter_config"]
    rendered = local_documents.notebook_files(model, chosen)
    assert rendered["directories"] == {
        root: "0755",
        os.path.join(root, "labconfig"): "0755",
        os.path.join(root, "jupyter_server_config.d"): "0755",
        os.path.join(root, "daskhub-python"): "0755",
    }
    local = {
        os.path.relpath(f["path"], root): f["content"] if f["path"].endswith(".py") else json.loads(f["content"])
        for f in rendered["files"]
    }
    assert local == expected("127.0.0.1")
    assert all("restarts" not in f for f in rendered["files"])
    environment = local_documents.hub_document(model, chosen)["config"]["Spawner"]["environment"]
    assert environment["JUPYTER_CONFIG_PATH"] == root
    assert environment["PYTHONPATH"] == os.path.join(root, "daskhub-python")
    # Kubernetes: the same files, mounted under /etc/jupyter, which Jupyter always reads.
    for release in helm_values.render(dict(model, target="kubernetes"), secrets)["releases"]:
        values = release["values"]
        hub = values.get("jupyterhub", values)
        if "singleuser" in hub:
            singleuser = hub["singleuser"]
            break
    else:
        pytest.fail("no jupyterhub values rendered")
    mounted = {
        f["mountPath"].removeprefix("/etc/jupyter/"): f.get("data", f.get("stringData"))
        for f in singleuser["extraFiles"].values()
    }
    assert mounted == expected("proxy-public")
    assert singleuser["extraEnv"]["PYTHONPATH"] == "/etc/jupyter/daskhub-python"


def test_gateway_is_a_hub_service_at_its_proxy(model):
    services = {s["name"]: s for s in local_documents.hub_document(model, settings())["services"]}
    assert services["dask-gateway"] == {"name": "dask-gateway", "display": False, "url": "http://127.0.0.1:8002"}
    # The shipped local inventory has a verify user, so the verify service too.
    assert set(services) == {"dask-gateway", "user-sync", "daskhub-verify", cull_model.CULLER_SERVICE}
    assert all("api_token" not in service for service in services.values())


def test_the_shared_uid_mode_as_root_runs_as_the_service_account_never_root(model):
    chosen = settings(run_as_root=True, service_user="daskhub")
    config = local_documents.hub_document(model, chosen)["config"]
    # jupyter-server refuses root without --allow-root: never asked for.
    assert "--allow-root" not in config["Spawner"].get("args", [])
    assert config["JupyterHub"]["spawner_class"] == local_documents.SIMPLE_SPAWNER
    assert local_usage.service_account(chosen) == "daskhub"
    assert "the service account daskhub" in local_usage.isolation(chosen)
    # Not as root, the play's own user runs everything; with system accounts, root runs the services.
    assert local_usage.service_account(settings(run_as_root=False)) == ""
    assert local_usage.service_account(settings(run_as_root=True, system_users=True)) == ""


def test_system_users_switch_spawner_and_backend(model):
    chosen = settings(run_as_root=True, system_users=True)
    hub = local_documents.hub_document(model, chosen)["config"]
    gateway = local_documents.gateway_document(model, chosen)["config"]
    assert hub["JupyterHub"]["spawner_class"] == local_documents.SYSTEM_SPAWNER
    assert "SimpleLocalProcessSpawner" not in hub
    assert "args" not in hub["Spawner"]
    assert gateway["DaskGateway"]["backend_class"] == local_documents.SYSTEM_BACKEND


def test_secrets_only_in_the_secret_documents(model, secrets):
    public = json.dumps(local_documents.hub_document(model, settings()))
    public += json.dumps(local_documents.gateway_document(model, settings()))
    for name, value in secrets.items():
        assert value not in public, name
    hub_secret = local_documents.hub_secret_document(model, secrets, settings())
    assert hub_secret["service_tokens"] == model_secrets.service_tokens(model, secrets)
    assert hub_secret["config"]["ConfigurableHTTPProxy"]["auth_token"] == secrets["proxy_secret_token"]
    assert hub_secret["config"]["JupyterHub"]["cookie_secret"] == secrets["cookie_secret"]
    assert hub_secret["config"]["DummyAuthenticator"]["password"] == secrets["dummy_password"]
    gateway_secret = local_documents.gateway_secret_document(secrets)
    # The gateway and its hub service share one token.
    token = gateway_secret["config"]["JupyterHubAuthenticator"]["jupyterhub_api_token"]
    assert token == hub_secret["service_tokens"]["dask-gateway"] == secrets["dask_gateway_api_token"]


# --- The gateway -----------------------------------------------------------------


def test_gateway_document(model):
    config = local_documents.gateway_document(model, settings())["config"]
    assert config["DaskGateway"]["backend_class"] == local_documents.UNSAFE_BACKEND
    assert config["DaskGateway"]["address"] == "127.0.0.1:8003"
    assert config["Proxy"] == {"address": "127.0.0.1:8002", "prefix": "/services/dask-gateway"}
    assert config["JupyterHubAuthenticator"] == {
        "jupyterhub_api_url": "http://127.0.0.1:8081/hub/api",
        "jupyterhub_service_name": "dask-gateway",
    }
    cluster = config["ClusterConfig"]
    # Both carry the dashboard guard preload, shipped into the prefix's etc/.
    guard = ["--preload", f"{settings()['prefix']}/etc/daskhub_dashboard_guard.py"]
    assert cluster["scheduler_cmd"] == ["dask", "scheduler", *guard]
    assert cluster["worker_cmd"] == ["dask", "worker", "--host", "127.0.0.1", *guard]
    # The shipped inventory's gateway settings, in the units dask-gateway wants.
    assert cluster["idle_timeout"] == 1800.0
    assert cluster["scheduler_cores"] == 1.0
    assert cluster["scheduler_memory"] == 2 * 2**30
    # No cluster limits in the inventory: none set.
    assert not {"cluster_max_cores", "cluster_max_memory", "cluster_max_workers"} & set(cluster)


def test_older_gateways_do_not_require_the_access_scope(model):
    config = local_documents.gateway_document(model, settings(gateway_version="2024.1.0"))["config"]
    assert "jupyterhub_service_name" not in config["JupyterHubAuthenticator"]


def test_both_targets_run_the_same_gateway_files_with_the_same_options(model, secrets):
    document = local_documents.gateway_document(model, settings())
    assert document["files"] == list(gateway_model.GATEWAY_CONFIG_FILES)
    kubernetes_model = dict(model, target="kubernetes")
    rendered = helm_values.render(kubernetes_model, secrets)
    for release in rendered["releases"]:
        values = release["values"]
        gateway = values.get("dask-gateway", values)
        if "gateway" in gateway:
            entries = gateway["gateway"]["extraConfig"]
            break
    else:
        pytest.fail("no dask-gateway values rendered")
    # The chart runs the files the local target installs, verbatim and in the same order ...
    shared = [(service_files.SHARED / "gateway" / name).read_text() for name in document["files"]]
    assert [entries[key] for key in sorted(entries)][1:] == shared
    # ... with the same options' settings.
    namespace = service_files.run_extra_config({"00": entries["00-daskhub-settings"]}, {})
    assert namespace["DASKHUB_GATEWAY_SETTINGS"]["options"] == document["options"]


def install_etc(tmp_path, model, secrets, chosen) -> dict:
    """The prefix's etc/ as the role daskhub_local writes it (tasks/config.yml)."""
    paths = local_paths.paths(str(tmp_path))
    os.makedirs(paths["etc"])
    documents = {
        paths["hub_settings_json"]: local_documents.hub_document(model, chosen),
        paths["hub_secrets_json"]: local_documents.hub_secret_document(model, secrets, chosen),
        paths["gateway_settings_json"]: local_documents.gateway_document(model, chosen),
        paths["gateway_secrets_json"]: local_documents.gateway_secret_document(secrets),
    }
    for path, document in documents.items():
        Path(path).write_text(json.dumps(document, indent=2, sort_keys=True))
    for name in ("jupyterhub_config.py", "dask_gateway_config.py", "daskhub_spawners.py", "daskhub_local_backends.py"):
        shutil.copy(service_files.LOCAL / name, paths["etc"])
    for name in documents[paths["gateway_settings_json"]]["files"]:
        shutil.copy(service_files.SHARED / "gateway" / name, paths["etc"])
    Path(paths["gateway_db_key"]).parent.mkdir(parents=True)
    Path(paths["gateway_db_key"]).write_text("a-key\n")
    return paths


class FakeConfig(dict):
    """Enough of traitlets' Config for the generated files: c.Section.trait and c[section][trait]."""

    def __getitem__(self, key):
        return self.setdefault(key, FakeSection())

    def __getattr__(self, key):
        return self[key]


class FakeSection(dict):
    def __setattr__(self, key, value):
        self[key] = value

    def __getattr__(self, key):
        return self[key]


def test_the_hub_config_loads_settings_and_secrets(tmp_path, model, secrets, monkeypatch):
    chosen = settings(tmp_path)
    paths = install_etc(tmp_path, model, secrets, chosen)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader extends the hub's sys.path
    c = FakeConfig()
    service_files.run_config(Path(paths["hub_config_py"]), c)
    assert c["JupyterHub"]["spawner_class"] == local_documents.SIMPLE_SPAWNER
    assert c["DummyAuthenticator"]["password"] == secrets["dummy_password"]
    services = {s["name"]: s for s in c["JupyterHub"]["services"]}
    assert services["dask-gateway"]["api_token"] == secrets["dask_gateway_api_token"]
    assert services["dask-gateway"]["url"] == "http://127.0.0.1:8002"


def _classes(path: Path) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in ast.parse(path.read_text()).body if isinstance(node, ast.ClassDef)}


@pytest.mark.parametrize("system_users", [False, True])
def test_the_hub_spawns_with_the_roles_classes_each_server_logging_to_a_file_of_its_own(
    tmp_path, model, secrets, monkeypatch, system_users
):
    """Servers outlive a hub restart; their output must not go to the restarted hub's pipe."""
    chosen = settings(tmp_path, run_as_root=system_users, system_users=system_users)
    paths = install_etc(tmp_path, model, secrets, chosen)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader extends the hub's sys.path
    c = FakeConfig()
    service_files.run_config(Path(paths["hub_config_py"]), c)
    # The class the hub imports is in the file the role installs, found through sys.path.
    module, name = c["JupyterHub"]["spawner_class"].rsplit(".", 1)
    assert (module, name) == (
        local_paths.SPAWNERS_MODULE,
        "DaskhubLocalProcessSpawner" if system_users else "DaskhubSimpleLocalProcessSpawner",
    )
    assert paths["etc"] in sys.path
    assert paths["spawners_py"] == os.path.join(paths["etc"], module + ".py")
    shipped = ROOT / "roles/daskhub_local/files" / os.path.basename(paths["spawners_py"])
    classes = _classes(shipped)
    # Still JupyterHub's choice of spawner for the mode, by inheritance.
    bases = [ast.unparse(base) for base in classes[name].bases]
    assert ("SimpleLocalProcessSpawner" in bases) != system_users
    assert "DaskhubLocalProcessSpawner" in bases or "LocalProcessSpawner" in bases
    # Both classes read the log directory from the section of the one that defines it.
    traits = [
        target.id
        for node in classes["DaskhubLocalProcessSpawner"].body
        if isinstance(node, ast.Assign)
        for target in node.targets
    ]
    assert "server_log_dir" in traits
    assert c["DaskhubLocalProcessSpawner"]["server_log_dir"] == os.path.join(str(tmp_path), "log", "servers")
    assert paths["server_logs"] == c["DaskhubLocalProcessSpawner"]["server_log_dir"]


def test_filters_expose_the_module_and_name_bad_settings(model):
    table = filters.FilterModule().filters()
    assert table["local_hub_document"](model, settings()) == local_documents.hub_document(model, settings())
    with pytest.raises(AnsibleFilterError, match="daskhub_local_hub_port"):
        table["local_hub_document"](model, settings(hub_port=0))
    assert table["local_gateway_document"](model, settings()) == local_documents.gateway_document(model, settings())


def test_snippet_is_three_lines_with_the_gateway_address(model):
    lines = local_usage.gateway_snippet(model, settings()).splitlines()
    assert len(lines) == 3
    assert 'Gateway("http://127.0.0.1:8000/services/dask-gateway"' in lines[1]
    assert 'proxy_address="gateway://127.0.0.1:8002"' in lines[1]


@pytest.mark.parametrize("system_users", [False, True])
def test_the_gateway_config_loads_its_settings_and_runs_the_shared_files(
    tmp_path, model, secrets, monkeypatch, system_users
):
    """dask_gateway_config.py as dask-gateway-server runs it, with a real traitlets Config."""
    from dask_gateway_server.auth import JupyterHubAuthenticator  # noqa: PLC0415

    chosen = settings(tmp_path, run_as_root=system_users, system_users=system_users)
    paths = install_etc(tmp_path, model, secrets, chosen)
    monkeypatch.setattr(sys, "path", list(sys.path))
    c = Config()
    service_files.run_config(Path(paths["gateway_config_py"]), c)
    backend = "DaskhubLocalBackend" if system_users else "DaskhubUnsafeLocalBackend"
    assert c.DaskGateway.backend_class == f"daskhub_local_backends.{backend}"
    assert paths["etc"] in sys.path
    assert paths["gateway_backends_py"] == os.path.join(paths["etc"], "daskhub_local_backends.py")
    assert c.ClusterConfig.idle_timeout == 1800.0
    assert c.JupyterHubAuthenticator.jupyterhub_api_token == secrets["dask_gateway_api_token"]
    assert c.LocalBackend.db_encrypt_keys == ["a-key"]
    assert issubclass(c.DaskGateway.authenticator_class, JupyterHubAuthenticator)
    # The options handler, on the backend the settings name: what the local backends know.
    # Each user's own Options (dask-gateway calls cluster_options with the user).
    options = c.Backend.cluster_options(User("alice"))
    chosen_options = options.get_configuration(options.parse_options({"worker_cores": 1}), User("alice"))
    assert set(chosen_options) == {"worker_cores", "worker_memory"}
