"""A user's browser, for the tests that take the user's own door: the hub's login form and cookies.

``Browser.login`` posts the hub's login form (``login_oidc``: the identity
provider's, through the hub's OAuth redirects); ``new_token`` asks for a token
as the hub's /hub/token page does; ``start_server`` asks for the user's
server as the hub's home page does; ``kernel`` opens a kernel in it
with the server's own cookies and XSRF token, as JupyterLab does, through
``KernelSession`` (plugins/module_utils/hub/kernel.py).
"""

from __future__ import annotations

import http.cookiejar
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.kernel import KernelError, KernelSession


class Browser:
    def __init__(self, hub_url: str, ca_file: str | None = None):
        """``ca_file``: the CA an https hub's certificate chains to, when the system does not trust it."""
        self.hub_url = hub_url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), urllib.request.HTTPSHandler(context=self.context)
        )

    def cookie(self, name: str, path_prefix: str = "/") -> str:
        return next((c.value for c in self.jar if c.name == name and c.path.startswith(path_prefix)), "")

    def cookie_header(self, path: str) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar if path.startswith(c.path))

    def get(self, path: str):
        with self.opener.open(self.hub_url + path, timeout=60) as response:
            return response.status, response.geturl(), response.read()

    def login(self, user: str, password: str, next_path: str = "") -> str:
        """Post the login form; returns the page the hub redirected to.

        Without ``next_path`` the hub sends a user with no server to
        /hub/spawn, which starts it, as in a browser.
        """
        query = f"?{urllib.parse.urlencode({'next': next_path})}" if next_path else ""
        self.get(f"/hub/login{query}")
        form = {"username": user, "password": password, "_xsrf": self.cookie("_xsrf", "/hub")}
        request = urllib.request.Request(f"{self.hub_url}/hub/login{query}", data=urllib.parse.urlencode(form).encode())
        with self.opener.open(request, timeout=120) as response:
            response.read()
            return response.geturl()

    def login_oidc(self, user: str, next_path: str = "") -> str:
        """Log in through the hub's identity provider, as a browser does; returns the page the hub redirected to.

        The hub's /hub/oauth_login sends the browser to the provider's login
        page (its own form: oidc-provider-mock's, support.oidc_provider), whose
        form posts the user's subject back to the same address; the provider
        then redirects to the hub's callback, which sets the hub's cookie.
        A refusal (a user outside the allowed groups) raises the hub's
        urllib.error.HTTPError (403).
        """
        query = f"?{urllib.parse.urlencode({'next': next_path})}" if next_path else ""
        with self.opener.open(f"{self.hub_url}/hub/oauth_login{query}", timeout=60) as response:
            page, login_url = response.read().decode(), response.geturl()
        assert 'name="sub"' in page and not login_url.startswith(self.hub_url), f"no provider login form at {login_url}"
        form = urllib.parse.urlencode({"sub": user}).encode()  # the "Custom user" form: its subject
        with self.opener.open(urllib.request.Request(login_url, data=form), timeout=120) as response:
            response.read()
            return response.geturl()

    def new_token(self, user: str, scopes: list[str], note: str = "test") -> str:
        """The /hub/token page's "Request new API token": the hub's API with the hub's cookie and XSRF token."""
        request = urllib.request.Request(
            f"{self.hub_url}/hub/api/users/{user}/tokens",
            method="POST",
            data=json.dumps({"note": note, "scopes": list(scopes)}).encode(),
            headers={"X-XSRFToken": self.cookie("_xsrf", "/hub"), "Content-Type": "application/json"},
        )
        with self.opener.open(request, timeout=60) as response:
            return json.loads(response.read())["token"]

    def start_server(self, user: str, timeout: float = 300) -> str:
        """The hub's "Start My Server": /hub/spawn, then wait until the server answers; returns its URL."""
        self.get("/hub/spawn")
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                # A page, not the API: the server sends a browser without its
                # cookie through the hub's OAuth, and that sets the cookies
                # (its _xsrf included); its API would only answer 403.
                status, url, _ = self.get(f"/user/{user}/lab")
                if status == 200 and urllib.parse.urlsplit(url).path.startswith(f"/user/{user}/"):
                    return f"{self.hub_url}/user/{user}/"
                last = f"{status} at {url}"
            except urllib.error.HTTPError as err:
                # 424: neither running nor starting, after the spawn began:
                # its start failed, or the server was stopped. Waiting on
                # would only repeat it.
                if err.code == 424:
                    raise AssertionError(f"{user}'s server stopped or failed to start (HTTP 424 at {err.url})") from err
                last = repr(err)
            except (urllib.error.URLError, OSError, ValueError) as err:
                last = repr(err)
            if time.monotonic() > deadline:
                raise AssertionError(f"{user}'s server did not start in {timeout:.0f}s: {last}")
            time.sleep(2)

    def stop_server(self, user: str, timeout: float = 120) -> None:
        """The hub's "Stop My Server": its API with the hub's cookie and XSRF token."""
        request = urllib.request.Request(
            f"{self.hub_url}/hub/api/users/{user}/server",
            method="DELETE",
            headers={"X-XSRFToken": self.cookie("_xsrf", "/hub")},
        )
        with self.opener.open(request, timeout=timeout) as response:
            response.read()

    def kernel(self, user: str, timeout: float = 120) -> KernelSession:
        path = f"/user/{user}/"
        headers = {"X-XSRFToken": self.cookie("_xsrf", path), "Cookie": self.cookie_header(path + "api/")}
        session = KernelSession(f"{self.hub_url}{path}", headers=headers, timeout=timeout, context=self.context)
        session.start()
        return session

    def end_session(self, user: str, kernel: KernelSession, cluster: str = "cluster") -> None:
        """A session's teardown: the kernel's GatewayCluster ``cluster`` shut down, the kernel, then the server.

        The kernel's websocket may have closed (a hub restart): it reconnects
        first; a kernel that is gone leaves the server's stop to end the cluster.
        """
        try:
            kernel.connect()
            kernel.execute(f"{cluster}.shutdown()", timeout=120)
        except KernelError:
            pass
        kernel.shutdown()
        self.stop_server(user)
