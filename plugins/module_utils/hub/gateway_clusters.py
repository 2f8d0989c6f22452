# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Every user's Dask clusters through the gateway's REST API, with a hub admin token (the local target).

The gateway (dask-gateway-server 2026.3.0) only ever lists the caller's own
clusters: ``GET /api/v1/clusters/`` filters on the token owner's name, and
``User.has_permissions`` is ``name == cluster.username`` even for hub
admins. So an admin-capable hub token mints one short-lived token per user
(scope ``access:services!service=dask-gateway``), lists and stops that
user's clusters with it, and revokes it at the end. The records are those of
hub/dask_clusters.py.

Standard library only, so it runs inside modules and filters alike.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import hub_client
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.dask_clusters import (
    ACTIVE_STATUSES,
    ClustersError,
    from_gateway,
    from_gateway_db,
    mark_orphaned,
    parse_duration,
    select,
    summary,
)

GATEWAY_SERVICE_SCOPE = "access:services!service={service}"
TOKEN_NOTE = "daskhub-deploy clusters.yml (revoked at the end of the run)"  # noqa: S105  a label, not a secret
# Long enough for a slow listing of many users, short enough that a run
# killed before its clean-up leaves nothing usable for long.
TOKEN_LIFETIME = 900


class GatewayClusters:
    """Lists and stops every user's clusters through the gateway, with a hub admin token.

    ``hub`` is a ``hub.api.HubClient`` whose token may create tokens
    for other users (the hub's ``tokens`` scope, e.g. a service in the
    ``admin`` role). ``gateway_url`` is the gateway's address,
    ``<hub>/services/dask-gateway`` on both targets.
    """

    def __init__(self, hub, gateway_url, service="dask-gateway", timeout=30.0, note=TOKEN_NOTE):
        self.hub = hub
        self.note = note
        if urllib.parse.urlparse(gateway_url).scheme not in ("http", "https"):
            raise ClustersError(f"the gateway URL {gateway_url!r} is not an http(s) URL")
        self.gateway_url = gateway_url.rstrip("/")
        self.service = service
        self.timeout = float(timeout)
        self._tokens: dict[str, dict] = {}

    # -- tokens -------------------------------------------------------------
    def _token(self, user) -> str:
        # A long-lived client (the gateway exporter) mints a user a new token
        # when half of the old one's lifetime is gone, and revokes the old one.
        minted = self._tokens.get(user)
        if minted is not None and time.monotonic() - minted["minted"] > TOKEN_LIFETIME / 2:
            self._drop_token(user)
            minted = None
        if minted is None:
            model = self.hub.create_token(
                user,
                note=self.note,
                expires_in=TOKEN_LIFETIME,
                scopes=[GATEWAY_SERVICE_SCOPE.format(service=self.service)],
            )
            self._tokens[user] = dict(model, minted=time.monotonic())
        return self._tokens[user]["token"]

    def revoke_tokens(self) -> list[str]:
        """Revoke every token this object minted; returns the users whose revocation failed."""
        failed = []
        for user, model in list(self._tokens.items()):
            try:
                self.hub.revoke_token(user, model["id"])
            except Exception:  # clean-up goes on; the token expires by itself anyway
                failed.append(user)
            del self._tokens[user]
        return failed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.revoke_tokens()

    # -- gateway requests ----------------------------------------------------
    def _request(self, method, path, user):
        # The gateway's JupyterHubAuthenticator reads "Authorization: jupyterhub
        # <token>"; "token <x>" is how a cluster's own API token authenticates.
        url = self.gateway_url + path
        # The gateway is behind the hub's proxy: through the hub's transport (its TLS settings).
        answer = self.hub.get(
            url, headers={"Authorization": f"jupyterhub {self._token(user)}"}, method=method, timeout=self.timeout
        )
        if answer.status is None:
            raise ClustersError(
                f"cannot reach the Dask Gateway at {self.gateway_url} ({method} {url}: {answer.error}). "
                f"Is the gateway running and registered as the hub service {self.service!r}?"
            )
        if answer.error:
            body = answer.body.decode("utf-8", "replace")[:300]
            if answer.status in (401, 403):
                hint = (
                    f"the gateway refused a token minted for user {user!r} ({answer.status}). Its hub role must "
                    f"allow {GATEWAY_SERVICE_SCOPE.format(service=self.service)} (the 'user' role does on "
                    "our sites)"
                )
            else:
                hint = answer.error
            raise ClustersError(f"{method} {url}: {hint}: {body}")
        if answer.body and answer.data is None:
            raise ClustersError(f"{method} {url}: HTTP {answer.status} with a body that is not JSON")
        return answer.status, answer.data

    def list_user(self, user, now=None) -> list[dict]:
        _unused, listing = self._request("GET", "/api/v1/clusters/?status=" + ",".join(ACTIVE_STATUSES).lower(), user)
        records = from_gateway(user, listing, now=now)
        for record in records:
            record["workers"] = self.worker_count(record["name"]) if record["status"] == "RUNNING" else 0
        return records

    def list_all(self, users=None, now=None, hub_users=None) -> tuple[list[dict], list[str]]:
        """Every active cluster of ``users`` (default: every hub user).

        Returns (records, unknown): names in ``users`` the hub does not know
        cannot be asked for (a token needs an owner) and are returned apart.
        ``hub_users``: the hub's user models when the caller has them already.
        """
        on_hub = [u["name"] for u in (self.hub.list_users() if hub_users is None else hub_users)]
        if users:
            names = [name for name in users if name in on_hub]
            unknown = sorted(set(users) - set(on_hub))
        else:
            names, unknown = on_hub, []
        found, errors = self.hub.run_parallel(lambda name: self.list_user(name, now=now), names)
        # run_parallel collects HubAPIError (a token refused by the hub);
        # ClustersError (the gateway) propagates from the worker threads.
        if errors:
            first = sorted(errors)[0]
            raise ClustersError(f"could not get a gateway token for user {first!r}: {errors[first]}")
        records = [record for name in names for record in found.get(name, [])]
        return sorted(records, key=lambda r: (r["user"], r["name"])), unknown

    def list_orphans(self, gateway_db, users=None, now=None) -> list[dict]:
        """The active clusters in ``gateway_db`` whose owner the hub no longer has (of ``users`` if given)."""
        hub_users = [user["name"] for user in self.hub.list_users()]
        records = mark_orphaned(from_gateway_db(gateway_db, now=now), hub_users)
        orphans = [r for r in records if r["orphaned"] and (not users or r["user"] in users)]
        for record in orphans:
            record["workers"] = self.worker_count(record["name"]) if record["status"] == "RUNNING" else 0
        return orphans

    def worker_count(self, name):
        """Workers connected to the scheduler, from its dashboard's JSON; None when it does not answer.

        The gateway's API does not return a worker count; the scheduler's
        HTTP server does (distributed.http.scheduler.json, on by default),
        behind the gateway proxy at /clusters/<name>/.
        """
        url = f"{self.gateway_url}/clusters/{urllib.parse.quote(name)}/json/counts.json"
        answer = self.hub.get(url, timeout=self.timeout)
        try:
            return int(answer.data.get("workers")) if answer.status == 200 else None
        except (AttributeError, ValueError, TypeError):
            return None

    def stop(self, clusters) -> list[str]:
        """DELETE each cluster as its owner; returns the names stopped.

        The gateway lets only a cluster's owner stop it (hub admins
        included), so the owner of an orphaned cluster is created on the hub
        again for the DELETE and deleted right after: for those seconds the
        name exists on the hub without being in the site's user lists.
        """
        stopped = []
        for cluster in clusters:
            recreated = bool(cluster.get("orphaned")) and bool(self.hub.create_users([cluster["user"]]))
            try:
                self._request("DELETE", f"/api/v1/clusters/{urllib.parse.quote(cluster['name'])}", cluster["user"])
            finally:
                if recreated:
                    self._drop_token(cluster["user"])
                    self.hub.delete_user(cluster["user"])
            stopped.append(cluster["name"])
        return stopped

    def _drop_token(self, user) -> None:
        model = self._tokens.pop(user, None)
        if model is not None:
            with contextlib.suppress(Exception):  # deleting the user deletes its tokens anyway
                self.hub.revoke_token(user, model["id"])


def clusters_run(params, check=False) -> tuple[dict, list[str]]:
    """The dask_gateway_clusters module's run on its parameters: list every cluster, select, stop (not in check mode).

    Returns (its return values, its warnings); raises ClustersError, or
    HubAPIError for the hub's refusals.
    """
    if params["older_than"] not in (None, ""):
        try:
            parse_duration(params["older_than"])
        except ValueError as err:
            raise ClustersError(f"older_than: {err}") from None
    hub = hub_client(params, timeout=params["timeout"])
    users = params["users"] or None
    gateway = GatewayClusters(hub, params["gateway_url"], service=params["gateway_service"], timeout=params["timeout"])
    with gateway as gw:
        clusters, unknown = gw.list_all(users=users)
        if params["gateway_db"]:
            orphans = gw.list_orphans(params["gateway_db"], users=users)
            clusters = sorted(clusters + orphans, key=lambda r: (r["user"], r["name"]))
        chosen = select(clusters, older_than=params["older_than"], users=params["users"], orphaned=params["orphaned"])
        stopped = [] if check else gw.stop(chosen)
    result = {
        "changed": bool(chosen),
        "clusters": clusters,
        "selected": chosen,
        "stopped": stopped,
        "unknown_users": unknown,
        "lines": summary(clusters),
    }
    warnings = [f"user {name!r} is not on the hub; its clusters (if any) cannot be listed" for name in unknown]
    return result, warnings
