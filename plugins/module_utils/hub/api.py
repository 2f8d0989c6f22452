# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A small JupyterHub REST API client for modules, tests and scripts: the hub's endpoints.

Standard library only, so it runs inside an Ansible module on any host and in
plain Python scripts alike. How a request travels (retries, the proxy's
answers, TLS, parallelism) is ``hub.transport``.
"""

from __future__ import annotations

import time

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import ADMIN_ROLE_HINT, HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import HubTransport
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import quote as _quote

PAGINATION_ACCEPT = "application/jupyterhub-pagination+json"
# The hub's own cap (JupyterHub.api_page_max_limit); asking for more is
# silently reduced to it, so this only saves a round trip when the hub
# was configured higher.
PAGE_LIMIT = 200


class HubClient(HubTransport):
    """JupyterHub REST API client.

    ``api_url`` is the API root, e.g. ``http://127.0.0.1:8000/hub/api``;
    the other arguments are ``HubTransport``'s (timeout, retries, TLS,
    ``parallelism``, which bounds the worker threads of the bulk helpers).
    """

    # -- read ----------------------------------------------------------
    def info(self):
        """GET / : the hub's version (no scope needed)."""
        return self.request("GET", "/")[1]

    def whoami(self):
        """GET /user : the model of the token's owner, with its scopes (hub >= 2)."""
        return self.request("GET", "/user")[1]

    def paginate(self, path, query=None, scope_hint=None):
        """All items of a paginated list endpoint.

        Without the pagination Accept header the hub returns a bare list cut
        at api_page_max_limit (200) without saying so, so every list call goes
        through here and follows ``_pagination.next``.
        """
        params = dict(query or {})
        params.setdefault("offset", 0)
        params.setdefault("limit", PAGE_LIMIT)

        def fetch(offset, limit):
            query = {**params, "offset": offset, "limit": limit}
            return self.request("GET", path, query=query, accept=PAGINATION_ACCEPT, scope_hint=scope_hint)[1]

        data = fetch(params["offset"], params["limit"])
        if isinstance(data, list):
            # A hub older than 2.0 ignores the header and sends everything.
            return data
        items = list(data.get("items", []))
        pagination = data.get("_pagination") or {}
        nxt = pagination.get("next")
        total = pagination.get("total")
        if nxt and items and isinstance(total, int):
            # The total is known: fetch the remaining pages concurrently,
            # then follow `next` from the last one in case users were
            # added meanwhile.
            limit = int(nxt.get("limit") or params["limit"])
            offsets = list(range(int(nxt["offset"]), total, limit))
            pages, errors = self.run_parallel(lambda off: fetch(off, limit), offsets)
            if errors:
                raise next(iter(errors.values()))
            for off in offsets:
                items.extend(pages[off].get("items", []))
            last = pages[offsets[-1]] if offsets else data
            nxt = (last.get("_pagination") or {}).get("next")
        while nxt:
            data = fetch(int(nxt["offset"]), int(nxt.get("limit") or params["limit"]))
            page = data.get("items", [])
            if not page:
                break
            items.extend(page)
            nxt = (data.get("_pagination") or {}).get("next")
        return items

    def list_users(self):
        """Every user model on the hub (paginated)."""
        return self.paginate("/users", scope_hint="list:users (and read:users for the admin flag)")

    def get_user(self, name):
        """One user's model, or None when the hub has no such user."""
        answer = self.request_unless(404, "GET", f"/users/{_quote(name)}", scope_hint="read:users")
        return None if answer is None else answer[1]

    # -- users ---------------------------------------------------------
    def create_users(self, names, admin=False):
        """Create users with one bulk POST; returns the created models.

        Names that already exist are skipped by the hub; when all exist it
        answers 409, which (after a retried POST, for instance) is success.
        """
        names = list(names)
        if not names:
            return []
        body = {"usernames": names}
        if admin:
            body["admin"] = True
        answer = self.request_unless(
            409,
            "POST",
            "/users",
            body=body,
            scope_hint="admin:users",
            forbidden_hint=ADMIN_ROLE_HINT if admin else None,
        )
        return [] if answer is None else answer[1] or []

    def set_admin(self, name, admin):
        """PATCH one user's admin flag; only a hub admin may do this."""
        return self.request(
            "PATCH",
            f"/users/{_quote(name)}",
            body={"admin": bool(admin)},
            scope_hint="admin:users",
            forbidden_hint=ADMIN_ROLE_HINT,
        )[1]

    def delete_user(self, name):
        """DELETE one user; True if deleted, False if the hub says it was already gone."""
        return self.request_unless(404, "DELETE", f"/users/{_quote(name)}", scope_hint="admin:users") is not None

    def delete_users(self, names):
        """DELETE many users in parallel; returns (results, errors) by name."""
        return self.run_parallel(self.delete_user, names)

    def set_admins(self, flags):
        """PATCH many admin flags ({name: bool}) in parallel; (results, errors)."""
        return self.run_parallel(lambda name: self.set_admin(name, flags[name]), flags)

    # -- groups --------------------------------------------------------
    def list_groups(self):
        return self.paginate("/groups", scope_hint="list:groups and read:groups")

    def create_group(self, name):
        """Create a group; False when the hub already has it."""
        answer = self.request_unless(409, "POST", f"/groups/{_quote(name)}", body={}, scope_hint="admin:groups")
        return answer is not None

    def add_group_members(self, group, names):
        return self.request(
            "POST", f"/groups/{_quote(group)}/users", body={"users": list(names)}, scope_hint="groups or admin:groups"
        )[1]

    def remove_group_members(self, group, names):
        return self.request(
            "DELETE", f"/groups/{_quote(group)}/users", body={"users": list(names)}, scope_hint="groups or admin:groups"
        )[1]

    # -- tokens and servers (for other playbooks and tests) --------------
    def create_token(self, user, note=None, expires_in=None, scopes=None):
        """A new API token for ``user``; the answer's 'token' is the secret."""
        body = {}
        if note:
            body["note"] = note
        if expires_in:
            body["expires_in"] = int(expires_in)
        if scopes is not None:
            body["scopes"] = list(scopes)
        return self.request("POST", f"/users/{_quote(user)}/tokens", body=body, scope_hint="tokens")[1]

    def revoke_token(self, user, token_id):
        """Revoke one of ``user``'s tokens; False when the hub says it was already gone."""
        path = f"/users/{_quote(user)}/tokens/{_quote(token_id)}"
        return self.request_unless(404, "DELETE", path, scope_hint="tokens") is not None

    def _server_path(self, user, server_name):
        path = f"/users/{_quote(user)}/server"
        if server_name:
            path = f"/users/{_quote(user)}/servers/{_quote(server_name)}"
        return path

    def start_server(self, user, server_name="", options=None):
        """Ask the hub to start a server; returns the HTTP status (201 started, 202 pending)."""
        try:
            status, _unused = self.request(
                "POST", self._server_path(user, server_name), body=options or {}, scope_hint="servers"
            )
        except HubAPIError as exc:
            if exc.status == 400 and "already running" in (exc.hub_message or ""):
                return 200
            raise
        return status

    def stop_server(self, user, server_name=""):
        """Ask the hub to stop a server; returns the HTTP status (204 stopped, 202 pending)."""
        try:
            status, _unused = self.request("DELETE", self._server_path(user, server_name), scope_hint="servers")
        except HubAPIError as exc:
            if exc.status == 400 and "not running" in (exc.hub_message or ""):
                return 204
            raise
        return status

    def wait_for_server(self, user, server_name="", ready=True, timeout=120.0, interval=0.5):
        """Poll until the server is ready (or gone, with ready=False); needs read:servers."""
        deadline = time.monotonic() + timeout
        while True:
            model = self.get_user(user) or {}
            server = (model.get("servers") or {}).get(server_name)
            state = bool(server and server.get("ready"))
            if state == ready and (ready or not server):
                return server
            if time.monotonic() > deadline:
                want = "ready" if ready else "stopped"
                raise HubAPIError(f"server {user!r}/{server_name!r} was not {want} after {timeout:.0f}s")
            time.sleep(interval)
