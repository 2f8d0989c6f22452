"""A real OpenID Connect provider on loopback, for the tests that log in through one: oidc-provider-mock.

It runs in a venv of its own (requirements/oidc-provider.txt, built once by
support.chart_envs.pinned_env), as its own process: ``python -m
oidc_provider_mock``. Users are registered with their claims
(``register``: ``preferred_username``, ``groups``, ...); any client ID and
secret are accepted (no client registration), and the login page is the
provider's own form, where a user picks her subject (support.browser,
``Browser.login_oidc``).

The ``oidc_provider`` fixture (support.stacks) starts one for the session
and stops it at the end; ``OIDCProvider.site_variables(hub_url)`` are the
site's ``daskhub_oauth_*`` variables that point a hub at it.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request

from support import chart_envs

PINS = chart_envs.REPO / "requirements" / "oidc-provider.txt"
LOG_DIR = chart_envs.REPO / "build" / "test-results"


class OIDCProvider:
    """One oidc-provider-mock process on 127.0.0.1 (see the module docstring)."""

    def __init__(self, port: int):
        """``port``: a free one of the tests' servers' (support.stacks.free_port)."""
        self.port = port
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.log = LOG_DIR / f"oidc-provider-{self.port}.log"
        self.process: subprocess.Popen | None = None
        # What the site's vault would hold; the provider takes any secret.
        self.client_secret = secrets.token_hex(16)

    @property
    def endpoints(self) -> dict[str, str]:
        return {
            "authorize_url": f"{self.issuer}/oauth2/authorize",
            "token_url": f"{self.issuer}/oauth2/token",
            "userdata_url": f"{self.issuer}/userinfo",
        }

    def start(self, timeout: float = 60) -> OIDCProvider:
        python = chart_envs.pinned_env("oidc-provider", PINS) / "bin" / "python"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [str(python), "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=5) as answer:
                    configuration = json.loads(answer.read())
                break
            except (urllib.error.URLError, OSError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(
                        f"oidc-provider-mock did not start; {self.log}:\n{self.log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.3)
        # Its own discovery document names the endpoints this class uses.
        assert configuration["authorization_endpoint"] == self.endpoints["authorize_url"], configuration
        assert configuration["userinfo_endpoint"] == self.endpoints["userdata_url"], configuration
        return self

    def register(self, sub: str, **claims) -> None:
        """A user of the provider, with her claims (PUT /users/<sub>, the provider's own API)."""
        request = urllib.request.Request(
            f"{self.issuer}/users/{sub}",
            method="PUT",
            data=json.dumps(claims).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 204, answer.status

    def site_variables(self, hub_url: str, client_id: str = "daskhub") -> dict:
        """The daskhub_oauth_* variables of a site whose hub at ``hub_url`` logs in through this provider."""
        return {
            "daskhub_authenticator": "generic-oauth",
            "daskhub_oauth_login_service": "Test IAM",
            "daskhub_oauth_client_id": client_id,
            "daskhub_oauth_client_secret": self.client_secret,
            **{f"daskhub_oauth_{key}": url for key, url in self.endpoints.items()},
            "daskhub_oauth_callback_url": f"{hub_url.rstrip('/')}/hub/oauth_callback",
            "daskhub_oauth_username_key": "preferred_username",
            "daskhub_oauth_scopes": ["openid", "profile"],
        }

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
