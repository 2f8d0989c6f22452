# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A small JupyterHub REST API client for modules, tests and scripts.

Standard library only (urllib), so it runs inside an Ansible module on any
host and in plain Python scripts alike. Every failure raises HubAPIError with
a message a human can act on (which token, which scope, which URL).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import (
    ADMIN_ROLE_HINT,
    HUB_HEADER,
    HubAPIError,
    HubUnreachable,
    http_error,
    not_the_hub,
)

PAGINATION_ACCEPT = "application/jupyterhub-pagination+json"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_PARALLELISM = 8
# How long answers that did not come from the hub (the proxy in front of a
# hub that is restarting: 404 before the hub re-adds its route, 503 while
# it is down) are retried. A hub restart takes seconds to a minute.
DEFAULT_UNAVAILABLE_TIMEOUT = 90.0
UNAVAILABLE_BACKOFF_MAX = 2.0
# The hub's own cap (JupyterHub.api_page_max_limit); asking for more is
# silently reduced to it, so this only saves a round trip when the hub
# was configured higher.
PAGE_LIMIT = 200


def _quote(name):
    return urllib.parse.quote(name, safe="")


def tls_context(validate_certs=True, ca_path=None):
    """The TLS context for an https hub: the system's CAs or ``ca_path``, or no verification at all."""
    if validate_certs:
        return ssl.create_default_context(cafile=ca_path)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class HubClient:
    """JupyterHub REST API client.

    ``api_url`` is the API root, e.g. ``http://127.0.0.1:8000/hub/api``.
    ``parallelism`` bounds the worker threads of the bulk helpers.
    """

    def __init__(
        self,
        api_url,
        token,
        timeout=DEFAULT_TIMEOUT,
        validate_certs=True,
        ca_path=None,
        retries=DEFAULT_RETRIES,
        backoff=DEFAULT_BACKOFF,
        parallelism=DEFAULT_PARALLELISM,
        user_agent="daskhub-deploy",
        unavailable_timeout=DEFAULT_UNAVAILABLE_TIMEOUT,
    ):
        if not api_url:
            raise HubAPIError("the JupyterHub API URL is empty (e.g. http://127.0.0.1:8000/hub/api)")
        parsed = urllib.parse.urlparse(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise HubAPIError(f"the JupyterHub API URL {api_url!r} is not an http(s) URL")
        if not token:
            raise HubAPIError(f"no API token was given for the JupyterHub API at {api_url}")
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.parallelism = max(1, int(parallelism))
        self.user_agent = user_agent
        self.unavailable_timeout = max(0.0, float(unavailable_timeout))
        # build_opener adds a default HTTPS handler, whose context loads the
        # system CA store (0.2 s); for a plain-http hub an unloaded context
        # that is never used is enough.
        handlers = [urllib.request.HTTPSHandler(context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))]
        # The TLS settings of every connection to this hub (its REST API, the
        # user servers and services behind its proxy); None for a plain-http hub.
        self.ssl_context = None
        if parsed.scheme == "https":
            self.ssl_context = tls_context(validate_certs, ca_path)
            handlers.append(urllib.request.HTTPSHandler(context=self.ssl_context))
        # No proxy from the environment: the hub API is usually local or
        # in-cluster, and a corporate HTTP proxy would only get in the way.
        handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    # -- transport -----------------------------------------------------
    def request(self, method, path, body=None, query=None, accept=None, scope_hint=None, forbidden_hint=None):
        """Send one request; return (status, decoded JSON or None).

        Retries connection errors, timeouts and 5xx answers with exponential
        backoff. An error answer without the hub's own header comes from the
        proxy in front of it (a 404 before a restarted hub has re-added its
        route, a 503 while it is down): it is retried for up to
        ``unavailable_timeout`` seconds and never read as the hub's answer.
        ``scope_hint`` names the scope the call needs, for the 403 message;
        ``forbidden_hint`` replaces that message entirely.
        """
        url = self.api_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {
            "Authorization": f"token {self._token}",
            "Accept": accept or "application/json",
            "User-Agent": self.user_agent,
        }
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        attempt = 0
        unavailable_until = None
        while True:
            # The scheme was checked to be http(s) in __init__.
            req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
            try:
                with self._opener.open(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                    status = resp.status
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                status = exc.code
                if exc.headers.get(HUB_HEADER) is None:
                    if unavailable_until is None:
                        unavailable_until = time.monotonic() + self.unavailable_timeout
                    if attempt < self.retries or time.monotonic() < unavailable_until:
                        attempt += 1
                        time.sleep(min(self.backoff * 2 ** (attempt - 1), UNAVAILABLE_BACKOFF_MAX))
                        continue
                    raise not_the_hub(method, url, status, attempt, self.unavailable_timeout) from None
                if status >= 500 and attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise http_error(method, url, status, raw, scope_hint, forbidden_hint) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                reason = getattr(exc, "reason", exc)
                raise HubUnreachable(
                    f"cannot reach the JupyterHub API at {self.api_url} ({method} {url}: {reason}) "
                    f"after {attempt + 1} attempt(s). Is the hub running, and is the API URL right "
                    "(daskhub_hub_api_url, ending in /hub/api)?",
                    method=method,
                    url=url,
                ) from None
            if not raw:
                return status, None
            try:
                return status, json.loads(raw)
            except ValueError:
                raise HubAPIError(
                    f"{method} {url} answered {status} with a body that is not JSON; "
                    "is the URL the hub's API (ending in /hub/api)?",
                    status=status,
                    method=method,
                    url=url,
                ) from None

    def status_of(self, url, headers=None):
        """The HTTP status a plain GET of ``url`` (on the hub's host) gets, error statuses included.

        Through this client's transport (its TLS settings, no proxy) but
        without its token: what a browser without the hub's cookie gets.
        Neither retried nor read as the hub's answer.
        """
        if urllib.parse.urlparse(url).scheme not in ("http", "https"):
            raise HubAPIError(f"{url!r} is not an http(s) URL")
        req = urllib.request.Request(url, headers={"User-Agent": self.user_agent, **(headers or {})})  # noqa: S310
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise HubUnreachable(f"GET {url}: {getattr(exc, 'reason', exc)}", method="GET", url=url) from None

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
        try:
            return self.request("GET", f"/users/{_quote(name)}", scope_hint="read:users")[1]
        except HubAPIError as exc:
            if exc.status == 404 and exc.from_hub:
                return None
            raise

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
        try:
            _, created = self.request(
                "POST",
                "/users",
                body=body,
                scope_hint="admin:users",
                forbidden_hint=ADMIN_ROLE_HINT if admin else None,
            )
        except HubAPIError as exc:
            if exc.status == 409 and exc.from_hub:
                return []
            raise
        return created or []

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
        try:
            self.request("DELETE", f"/users/{_quote(name)}", scope_hint="admin:users")
        except HubAPIError as exc:
            if exc.status == 404 and exc.from_hub:
                return False
            raise
        return True

    def run_parallel(self, func, items):
        """Apply func to every item with at most ``parallelism`` in flight.

        Returns (results, errors): dicts keyed by item. The hub handles one
        request at a time per process but overlapping the network and
        client time still pays off several-fold.
        """
        items = list(items)
        results, errors = {}, {}
        if not items:
            return results, errors
        workers = min(self.parallelism, len(items))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(func, item): item for item in items}
            for future, item in futures.items():
                try:
                    results[item] = future.result()
                except HubAPIError as exc:
                    errors[item] = exc
        return results, errors

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
        try:
            self.request("POST", f"/groups/{_quote(name)}", body={}, scope_hint="admin:groups")
        except HubAPIError as exc:
            if exc.status == 409 and exc.from_hub:
                return False
            raise
        return True

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
        try:
            self.request("DELETE", f"/users/{_quote(user)}/tokens/{_quote(token_id)}", scope_hint="tokens")
        except HubAPIError as exc:
            if exc.status == 404 and exc.from_hub:
                return False
            raise
        return True

    def _server_path(self, user, server_name):
        path = f"/users/{_quote(user)}/server"
        if server_name:
            path = f"/users/{_quote(user)}/servers/{_quote(server_name)}"
        return path

    def start_server(self, user, server_name="", options=None):
        """Ask the hub to start a server; returns the HTTP status (201 started, 202 pending)."""
        try:
            status, _ = self.request(
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
            status, _ = self.request("DELETE", self._server_path(user, server_name), scope_hint="servers")
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
