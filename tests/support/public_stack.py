"""The public site: a local-target stack with HTTPS from a real ACME server on loopback.

``pebble`` (session scope)
    Debian's ``pebble`` (scripts/test-deps.sh installs it), Let's Encrypt's
    test ACME server, on loopback ports of this worker, with real HTTP-01
    validation: it fetches each answer from ``http://<host>:<http_port>``,
    the stack's ``daskhub_local_http_port`` (only its random sleep before
    validating is off, ``PEBBLE_VA_NOSLEEP``). Its own API serves a
    certificate of a CA made here (``api_ca``); what it issues chains to a
    root it makes at start (``root_ca``, read from its management API).

``oidc_provider`` (session scope)
    An OpenID Connect provider on loopback (support/oidc_provider.py), whose
    users' ``groups`` claims the tests register.

``public_stack`` (session scope)
    site.yml of the default inventory with :func:`public_site_variables`
    (HTTPS for ``PUBLIC_HOST`` with the certificate ordered from pebble, the
    play's clients trusting pebble's root), the provider's variables and
    ``OIDC_SITE`` (its groups decide who logs in, who is an admin, and bound
    the gateway's options). Mark its tests ``PUBLIC_STACK``. One stack for
    both, since a public site has both: one deploy. Shared-uid mode (users let
    in by group have no host account) with a service account of its own: the
    stack makes no accounts another stack could fight over.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import certificates, chart_envs
from support.oidc_provider import OIDCProvider
from support.stacks import SLOTS, LocalStack, free_port, port_block, worker_id

PUBLIC_STACK = pytest.mark.xdist_group("public_stack")
# The name the certificate is for: it must lead to the stack from this host.
PUBLIC_HOST = "localhost"
SERVICE_ACCOUNT = "daskhub-pub"
# The public site's logins beyond its provider's endpoints: the provider's
# groups decide who logs in and who is an admin, and bound the gateway's options.
OIDC_SITE = {
    "daskhub_users": [],
    "daskhub_admin_users": [],
    "daskhub_oauth_groups_claim": "groups",
    "daskhub_oauth_allowed_groups": ["physics"],
    "daskhub_oauth_admin_groups": ["hub-admins"],
    "daskhub_gateway_group_limits": {"physics": {"worker_cores": 2, "worker_memory": 2, "cluster_max_workers": 1}},
}
# The provider's users and their groups claims.
OIDC_USERS = {
    "alice": ["physics"],  # allowed by group; the group bounds her clusters
    "bob": ["students"],  # in no allowed group
    "carol": ["hub-admins"],  # an admin by group
}


@dataclass
class Pebble:
    root: Path
    process: subprocess.Popen
    directory: str
    management: str
    api_ca: Path
    http_port: int

    def root_ca(self) -> str:
        """PEM of the root that signs what pebble issues (a new one at each start)."""
        context = ssl.create_default_context(cafile=str(self.api_ca))
        with urllib.request.urlopen(f"{self.management}/roots/0", timeout=10, context=context) as response:
            return response.read().decode()


def _api_certificate(folder: Path) -> Path:
    """A CA and the certificate of pebble's API (127.0.0.1) it signs; returns the CA's file."""
    ca = certificates.issue("daskhub tests: pebble API CA", ca=True)
    certificates.issue("127.0.0.1", ("127.0.0.1", "localhost"), by=ca).write(folder / "api.pem", folder / "api-key.pem")
    return ca.write_certificate(folder / "api-ca.pem")


def start_pebble(http_port: int) -> Pebble:
    binary = shutil.which("pebble")
    if not binary:
        pytest.skip("pebble is not installed (scripts/test-deps.sh installs Debian's package)")
    root = Path(tempfile.mkdtemp(prefix=f"daskhub-pebble-{worker_id()}-"))
    api_ca = _api_certificate(root)
    listen, management = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{listen}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(root / "api.pem"),
            "privateKey": str(root / "api-key.pem"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (root / "pebble.json").write_text(json.dumps(config))
    log = (root / "pebble.log").open("w")
    # No random sleep before validating, and no nonce refused on purpose; the validation itself is real.
    env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
    process = subprocess.Popen(
        [binary, "-config", str(root / "pebble.json")], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    pebble = Pebble(
        root, process, f"https://127.0.0.1:{listen}/dir", f"https://127.0.0.1:{management}", api_ca, http_port
    )
    context = ssl.create_default_context(cafile=str(api_ca))
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(pebble.directory, timeout=5, context=context) as response:
                json.loads(response.read())
            return pebble
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"pebble did not start:\n{(root / 'pebble.log').read_text()[-3000:]}") from None
            time.sleep(0.2)


def stop_pebble(pebble: Pebble) -> None:
    pebble.process.terminate()
    try:
        pebble.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pebble.process.kill()
    shutil.rmtree(pebble.root, ignore_errors=True)


def public_site_variables(pebble: Pebble, site_ca: Path) -> dict:
    """The public site's HTTPS: ACME from ``pebble`` for PUBLIC_HOST, and the CA clients trust."""
    return {
        "daskhub_https_enabled": True,
        "daskhub_https_hosts": [PUBLIC_HOST],
        "daskhub_https_letsencrypt_contact_email": "daskhub-admins@example.org",
        "daskhub_https_acme_directory": pebble.directory,
        "daskhub_https_acme_ca_bundle": str(pebble.api_ca),
        "daskhub_https_ca_bundle": str(site_ca),
        "daskhub_local_http_port": pebble.http_port,
        "daskhub_local_gateway_http_port": free_port(),
        # Accounts of its own (tests/support/stacks.py: only local_stack makes users' accounts).
        "daskhub_local_system_users": False,
        "daskhub_local_service_user": SERVICE_ACCOUNT,
    }


@pytest.fixture(scope="session")
def pebble():
    """Debian's pebble on loopback, validating HTTP-01 on the public stack's HTTP port."""
    server = start_pebble(http_port=free_port())
    try:
        yield server
    finally:
        stop_pebble(server)


@pytest.fixture(scope="session")
def oidc_provider():
    """The session's OpenID Connect provider on loopback (support.oidc_provider), stopped at the end."""
    provider = OIDCProvider(free_port())
    try:
        provider.start()
    except chart_envs.EnvUnavailable as missing:
        pytest.skip(f"oidc-provider-mock cannot be installed here: {missing}")
    try:
        for user, groups in OIDC_USERS.items():
            provider.register(user, preferred_username=user, groups=groups)
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def public_stack(pebble, oidc_provider):
    """The public site (see the module docstring): deployed once, purged at the end."""
    site_ca = Path(tempfile.mkdtemp(prefix="daskhub-public-ca-")) / "pebble-root.pem"
    site_ca.write_text(pebble.root_ca())
    variables = public_site_variables(pebble, site_ca)
    hub_url = f"https://{PUBLIC_HOST}:{port_block(SLOTS['public_stack'])['daskhub_local_hub_port']}"
    variables.update(oidc_provider.site_variables(hub_url), **OIDC_SITE)
    stack = LocalStack("public-stack", SLOTS["public_stack"], **variables)
    stack.hub_url = hub_url
    stack.site_ca = site_ca
    stack.http_port = pebble.http_port
    try:
        stack.deploy()
        yield stack
    finally:
        stack.purge()
        shutil.rmtree(site_ca.parent, ignore_errors=True)
