# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""How the project talks to a hub over HTTP: one request, its retries, its TLS, its parallelism.

``HttpTransport`` is the one plain client: an unretried GET that returns
the status, JSON and headers, and the certificate an https URL presents
(what ``daskhub_status`` and the health checks ask). ``HubTransport`` adds
the hub's token and the retries of its REST API; it knows nothing of the
API's endpoints, ``hub.api.HubClient`` adds them. Standard library only (urllib), so it runs inside an Ansible
module on any host and in plain Python scripts alike. Every failure raises
HubAPIError with a message a human can act on (which token, which scope,
which URL).

Why not ``ansible.module_utils.urls.open_url``, which has the proxy
environment, ``validate_certs`` and ``ca_path``: this transport also runs
where Ansible is not installed, in the gateway's metrics exporter
(plugins/files/monitoring/daskhub_gateway_exporter.py, a hub service in the
site's own venv) and in scripts, so it may import only the standard
library; and what it adds is not open_url's: the retries of answers that
came from the proxy in front of a restarting hub rather than from the hub
(``not_the_hub``), the errors that name the token and the scope, and the
parallel DELETE/PATCH of a user sync. The TLS choices are open_url's
(``validate_certs``, ``ca_path``), and the environment's proxy is taken only
where a caller asks for it (``environment_proxy``).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import (
    HUB_HEADER,
    HubAPIError,
    HubUnreachable,
    http_error,
    not_the_hub,
)

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_PARALLELISM = 8
# How long answers that did not come from the hub (the proxy in front of a
# hub that is restarting: 404 before the hub re-adds its route, 503 while
# it is down) are retried. A hub restart takes seconds to a minute.
DEFAULT_UNAVAILABLE_TIMEOUT = 90.0
UNAVAILABLE_BACKOFF_MAX = 2.0


def quote(name):
    """``name`` as one URL path segment."""
    return urllib.parse.quote(name, safe="")


def tls_context(validate_certs=True, ca_path=None):
    """The TLS context for an https hub: the system's CAs or ``ca_path``, or no verification at all."""
    if validate_certs:
        return ssl.create_default_context(cafile=ca_path)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Answer(NamedTuple):
    """What one plain GET got: ``status`` None when nothing answered (``error`` says why)."""

    status: int | None
    data: object  # the body as JSON; None when empty or not JSON
    headers: dict
    error: str  # "" for a 2xx or 3xx answer, "HTTP <status>" for an error answer, else the connection's failure
    body: bytes


class HttpTransport:
    """Plain requests to a site's URLs (the hub, its proxy, the services behind it): one opener, never retried.

    No proxy from the environment: the hub is usually local or in-cluster,
    and a corporate HTTP proxy would only get in the way; a service outside
    the site (a user source's HTTP endpoint) asks for it with
    ``environment_proxy``. ``https``: whether to prepare the TLS settings
    (``validate_certs``, ``ca_path``); loading the system's CAs takes 0.2 s,
    which a plain-http site need not pay.
    """

    def __init__(
        self,
        timeout=DEFAULT_TIMEOUT,
        validate_certs=True,
        ca_path=None,
        user_agent="daskhub-deploy",
        https=True,
        environment_proxy=False,
    ):
        self.timeout = float(timeout)
        self.user_agent = user_agent
        # The TLS settings of every connection (the hub's REST API, the user
        # servers and services behind its proxy); None for a plain-http site,
        # whose opener gets an unloaded context that is never used instead of
        # build_opener's default one, which loads the system's CAs. One HTTPS
        # handler only: the opener would open https URLs with the first.
        self.ssl_context = tls_context(validate_certs, ca_path) if https else None
        context = self.ssl_context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        handlers = [urllib.request.HTTPSHandler(context=context)]
        if not environment_proxy:
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def get(self, url, token=None, headers=None, method="GET", timeout=None) -> Answer:
        """One request of ``url``, never retried: a down service is an answer, not an exception.

        ``token`` goes as ``Authorization: token <token>``; ``headers`` are
        added as given (e.g. the gateway's ``jupyterhub <token>``);
        ``timeout`` replaces this client's for the one request.
        """
        if urllib.parse.urlparse(url).scheme not in ("http", "https"):
            raise HubAPIError(f"{url!r} is not an http(s) URL")
        sent = {"Accept": "application/json", "User-Agent": self.user_agent}
        if token:
            sent["Authorization"] = f"token {token}"
        sent.update(headers or {})
        req = urllib.request.Request(url, headers=sent, method=method)  # noqa: S310  checked to be http(s)
        try:
            with self._opener.open(req, timeout=self.timeout if timeout is None else timeout) as response:
                raw = response.read()
                return Answer(response.status, _json_or_none(raw), dict(response.headers), "", raw)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return Answer(exc.code, _json_or_none(raw), dict(exc.headers or {}), f"HTTP {exc.code}", raw)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return Answer(None, None, {}, str(getattr(exc, "reason", exc)), b"")

    def status_of(self, url, headers=None):
        """The HTTP status a plain GET of ``url`` (on the hub's host) gets, error statuses included.

        Through this client's transport (its TLS settings, no proxy) but
        without its token: what a browser without the hub's cookie gets.
        Neither retried nor read as the hub's answer.
        """
        answer = self.get(url, headers={"Accept": "*/*", **(headers or {})})
        if answer.status is None:
            raise HubUnreachable(f"GET {url}: {answer.error}", method="GET", url=url)
        return answer.status

    def certificate(self, url) -> dict | None:
        """The certificate an https ``url`` presents, read even when it does not verify; None for http.

        {"host", "not_after" (epoch seconds, or None), "error"}.
        """
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme != "https":
            return None
        host, port = parsed.hostname, parsed.port or 443
        try:
            pem = ssl.get_server_certificate((host, port), timeout=self.timeout)
        except (OSError, ssl.SSLError) as exc:
            return {"host": host, "not_after": None, "error": str(exc)}
        not_after = _not_after(pem)
        return {"host": host, "not_after": not_after, "error": "" if not_after else "could not read its expiry"}


def _json_or_none(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _not_after(pem: str) -> float | None:
    try:
        from cryptography import x509  # noqa: PLC0415  optional: ansible's own dependency

        return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc.timestamp()
    except Exception:
        return None


class HubTransport(HttpTransport):
    """Requests to a JupyterHub REST API, retried and checked to come from the hub itself.

    ``api_url`` is the API root, e.g. ``http://127.0.0.1:8000/hub/api``.
    ``parallelism`` bounds the worker threads of ``run_parallel``.
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
        super().__init__(timeout, validate_certs, ca_path, user_agent, https=parsed.scheme == "https")
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.parallelism = max(1, int(parallelism))
        self.unavailable_timeout = max(0.0, float(unavailable_timeout))

    # -- one request -----------------------------------------------------
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

    def request_unless(self, status, method, path, **kwargs):
        """``request``, or None when the hub itself answers ``status``.

        For the answers that mean "already done": a 404 to a DELETE or a GET
        (already gone), a 409 to a POST (already there). The same status from
        the proxy in front of the hub is not the hub's answer and still raises.
        """
        try:
            return self.request(method, path, **kwargs)
        except HubAPIError as exc:
            if exc.status == status and exc.from_hub:
                return None
            raise

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
