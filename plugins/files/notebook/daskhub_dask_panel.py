"""The Dask panel of a user's JupyterLab (dask-labextension) for the site's Dask Gateway: a Jupyter server extension.

Every user server loads it, on both targets (model/hub.py, notebook_config_files,
names it in jupyter_server_config.d/; the servers import it from the folder
the same function names). Its settings are the server's dask config: the
gateway's address (``gateway.address``, DASK_GATEWAY__ADDRESS), which both
targets set for GatewayCluster() already.

dask-labextension (7.0) lists only the clusters its own +NEW made, and shows
a cluster's dashboard through its own proxy, ``dask/dashboard/<id>/``, which
keeps the dashboard's host and port but drops its path. A gateway serves
every cluster's dashboard on one address, under
``/services/dask-gateway/clusters/<name>/``: the panel asked the hub for
``/individual-plots.json``, the hub redirected to ``/hub/individual-plots.json``,
jupyter-server-proxy rewrote that to ``<server>/proxy/<host>:<port>/hub/...``,
and the panel got a 404. So this extension:

- gives the panel each cluster's dashboard through jupyter-server-proxy's
  ``<server>/proxy/<host>:<port>/<path>``, the path kept: the panel opens a
  link under its server's ``proxy/`` as it is (the proxy is the user's own
  server, behind the user's own login; ``host:port`` is the gateway's address);
- lists the user's running gateway clusters too, the ones made in a notebook
  with ``GatewayCluster()``: while the panel is open (it lists the clusters
  every few seconds) it asks the gateway every POLL_SECONDS, with the
  server's own token, connects to the new ones (never stopping them when the
  server exits) and drops the ended ones. The panel's Shutdown stops them.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
import uuid

POLL_SECONDS = 5
# The panel asks for its list every few seconds while it shows; a server whose
# panel has not asked for this long does not ask the gateway either.
IDLE_SECONDS = 60
# The panel's cluster ids must look like a UUID (its URL patterns); a gateway
# cluster's id is derived from its name, so the same cluster keeps its id.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "daskhub.deploy/dask-gateway-cluster")

log = logging.getLogger("daskhub.dask_panel")


def _jupyter_server_extension_points():
    return [{"module": "daskhub_dask_panel"}]


def proxied_dashboard(link: str, base_url: str, gateway_address: str) -> str:
    """The dashboard ``link`` through the server's jupyter-server-proxy, at the gateway's address, path kept."""
    if not link or not gateway_address:
        return link
    path = urllib.parse.urlsplit(link).path
    gateway = urllib.parse.urlsplit(gateway_address)
    if not path.startswith(gateway.path.rstrip("/") + "/"):
        return link  # not a dashboard of this gateway (a LocalCluster's, say): as it was
    port = gateway.port or (443 if gateway.scheme == "https" else 80)
    return f"{base_url.rstrip('/')}/proxy/{gateway.hostname}:{port}{path}"


def cluster_id(name: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, name))


class GatewayPanel:
    """The user's gateway clusters in dask-labextension's cluster manager, their dashboards through the proxy."""

    def __init__(self, manager_module, base_url: str):
        self.module = manager_module
        self.manager = manager_module.manager
        self.base_url = base_url
        self.adopted: dict[str, object] = {}  # cluster id -> GatewayCluster connected to here
        self.gateway = None
        self.listed = 0.0  # when the panel last asked for the list (time.monotonic())
        self.starting = 0  # the panel's +NEW clusters being made: known to the gateway before the manager

    def install(self) -> None:
        import dask  # noqa: PLC0415  the server's; the module stays importable without it

        make_model = self.module.make_cluster_model

        def make_cluster_model(cluster_id, cluster_name, cluster, adaptive):
            model = make_model(cluster_id, cluster_name, cluster, adaptive)
            model["dashboard_link"] = proxied_dashboard(
                model.get("dashboard_link") or "", self.base_url, dask.config.get("gateway.address", "")
            )
            return model

        # The manager's methods build every model the panel gets through this module-level function.
        self.module.make_cluster_model = make_cluster_model
        close_cluster = self.manager.close_cluster

        async def close(cluster_id):
            cluster = self.adopted.pop(cluster_id, None)
            if cluster is None:
                return await close_cluster(cluster_id)
            model = self.manager.get_cluster(cluster_id)
            await cluster.shutdown()
            self._forget(cluster_id)
            return model

        self.manager.close_cluster = close
        list_clusters = self.manager.list_clusters

        def listed():
            self.listed = time.monotonic()
            return list_clusters()

        self.manager.list_clusters = listed
        start_cluster = self.manager.start_cluster

        async def start(*args, **kwargs):
            self.starting += 1
            try:
                return await start_cluster(*args, **kwargs)
            finally:
                self.starting -= 1

        self.manager.start_cluster = start

    def _forget(self, cluster_id: str) -> None:
        self.manager._clusters.pop(cluster_id, None)
        self.manager._cluster_names.pop(cluster_id, None)
        self.manager._adaptives.pop(cluster_id, None)

    async def poll(self) -> None:
        """Adopt the user's running clusters the manager does not know, forget the ended ones."""
        from dask_gateway import Gateway, GatewayCluster  # noqa: PLC0415  where the server has it

        if time.monotonic() - self.listed > IDLE_SECONDS:
            return
        if self.gateway is None:
            self.gateway = Gateway(asynchronous=True)
        try:
            running = {report.name for report in await self.gateway.list_clusters()}
        except Exception as err:  # a gateway down or a token refused: the panel keeps what it has
            log.warning("daskhub dask panel: cannot list the gateway's clusters: %s", err)
            return
        # A +NEW cluster on its way is the gateway's before the manager's: adopt nothing meanwhile.
        managed = {
            getattr(cluster, "name", None)
            for identifier, cluster in self.manager._clusters.items()
            if identifier not in self.adopted
        }
        adopted = {cluster.name for cluster in self.adopted.values()}
        for name in [] if self.starting else sorted(running - managed - adopted):
            try:
                cluster = await GatewayCluster.from_name(name, asynchronous=True)
            except Exception as err:  # it may have ended meanwhile
                log.warning("daskhub dask panel: cannot connect to cluster %s: %s", name, err)
                continue
            identifier = cluster_id(name)
            self.adopted[identifier] = cluster
            self.manager._clusters[identifier] = cluster
            self.manager._cluster_names[identifier] = name
        for identifier, cluster in list(self.adopted.items()):
            if cluster.name not in running or cluster.name in managed:
                self.adopted.pop(identifier)
                self._forget(identifier)
                await cluster.close()


def _load_jupyter_server_extension(server_app):
    try:
        from dask_labextension import manager as manager_module  # noqa: PLC0415
    except ImportError:
        server_app.log.warning("daskhub dask panel: dask-labextension is not installed; nothing to do")
        return
    from tornado.ioloop import PeriodicCallback  # noqa: PLC0415

    panel = GatewayPanel(manager_module, server_app.base_url)
    panel.install()
    PeriodicCallback(panel.poll, POLL_SECONDS * 1000).start()
    server_app.log.info("daskhub dask panel: gateway clusters listed, dashboards through %sproxy/", server_app.base_url)
