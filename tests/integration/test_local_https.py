"""The public site (tests/support/public_stack.py): HTTPS on the local target, its certificate ordered
from a real ACME server on loopback (pebble, real HTTP-01 validation on the stack's HTTP port).

alice takes the user's door over HTTPS: the identity provider's login page, her own server, a kernel in it, and a
GatewayCluster made with no configuration, its schedulers' traffic through the gateway's TLS-only port.
A forced renewal replaces the certificate while her server keeps running.
Measured (the whole module, one worker, two cores shared with other runs): 96 s on a quiet machine
(deploy 41 s, purge 10 s, the tests 45 s) to 170 s under load (deploy up to 100 s).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import time

import pytest
from support import certificates
from support.browser import Browser
from support.playbooks import recap
from support.public_stack import PUBLIC_HOST, PUBLIC_STACK

pytestmark = [pytest.mark.stack, PUBLIC_STACK]

USER = "alice"
CLUSTER = (
    "from dask_gateway import GatewayCluster\n"
    "cluster = GatewayCluster(worker_cores=1, worker_memory=2)\n"
    "client = cluster.get_client()\n"
    "cluster.scale(1)\n"
    "client.wait_for_workers(1, timeout=240)\n"
    "import dask.array as da\n"
    "print(cluster.scheduler_address.split('://')[0], int(da.arange(1000, chunks=100).sum().compute()))\n"
)


def served_certificate(stack, cafile=None) -> dict:
    """The certificate the hub's port serves, verified against the site's CA (or ``cafile``) for PUBLIC_HOST."""
    context = ssl.create_default_context(cafile=str(cafile or stack.site_ca))
    address = ("127.0.0.1", stack.ports["daskhub_local_hub_port"])
    with (
        socket.create_connection(address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=PUBLIC_HOST) as tls,
    ):
        return tls.getpeercert()


def issuer(certificate: dict) -> str:
    return " ".join(value for part in certificate["issuer"] for _, value in part)


@pytest.fixture(scope="module")
def alices_session(public_stack):
    """alice logs in through the hub's form over HTTPS, starts her server, opens a kernel in it."""
    browser = Browser(public_stack.hub_url, ca_file=str(public_stack.site_ca))
    browser.login_oidc(USER)
    try:
        browser.start_server(USER)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\nthe hub's log of {USER}:\n{public_stack.hub_log(USER)}") from failure
    kernel = browser.kernel(USER)
    try:
        yield browser, kernel
    finally:
        browser.end_session(USER, kernel)


def test_the_hub_serves_https_with_the_certificate_pebble_issued(public_stack):
    certificate = served_certificate(public_stack)
    assert "Pebble Intermediate" in issuer(certificate), issuer(certificate)
    assert ("DNS", PUBLIC_HOST) in certificate["subjectAltName"]
    browser = Browser(public_stack.hub_url, ca_file=str(public_stack.site_ca))
    status, _, body = browser.get("/hub/api/")
    assert status == 200 and b"version" in body


def test_plain_http_is_redirected_to_https_and_the_gateway_port_takes_only_tls(public_stack):
    connection = http.client.HTTPConnection("127.0.0.1", public_stack.http_port, timeout=10)
    connection.request("GET", "/hub/login?next=%2Fhub%2F")
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"{public_stack.hub_url}/hub/login?next=%2Fhub%2F"
    # Tokens never cross the gateway's public port in clear: plain HTTP gets no answer there.
    gateway = http.client.HTTPConnection("127.0.0.1", public_stack.ports["daskhub_local_gateway_port"], timeout=10)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        gateway.request("GET", "/services/dask-gateway/api/health")
        gateway.getresponse()


def test_alice_makes_a_gateway_cluster_over_tls_with_no_configuration(alices_session):
    _, kernel = alices_session
    assert kernel.execute(CLUSTER, timeout=300).split() == ["gateway", str(999 * 1000 // 2)]
    assert kernel.execute("cluster.shutdown()\nprint('down')", timeout=120).strip() == "down"


def test_verify_walks_the_users_path_over_https(public_stack):
    public_stack.playbook("playbooks/verify.yml")


def test_status_and_user_sync_reach_the_hub_over_https_with_the_sites_ca(public_stack):
    status = public_stack.playbook("playbooks/status.yml").stdout
    assert f"certificate of {PUBLIC_HOST}: expires" in status
    assert "PROBLEM" not in status
    sync = public_stack.playbook("playbooks/user-sync.yml").stdout
    assert recap(sync)["failed"] == 0


def test_a_forced_renewal_serves_a_new_certificate_and_alices_server_keeps_running(public_stack, alices_session):
    browser, kernel = alices_session
    before = served_certificate(public_stack)
    pid = kernel.execute("import os\nprint(os.getppid())", timeout=60).strip()
    # Any certificate has fewer days left than this: due now. Check mode says so, and changes nothing.
    due = ("-e", "daskhub_https_renew_days=100000")
    output = public_stack.playbook("playbooks/certificates.yml", "--check", *due).stdout
    assert recap(output)["changed"] >= 1
    assert served_certificate(public_stack)["serialNumber"] == before["serialNumber"]
    output = public_stack.playbook("playbooks/certificates.yml", *due).stdout
    assert recap(output)["changed"] >= 1
    deadline = time.monotonic() + 60
    while True:
        try:
            after = served_certificate(public_stack)
            if after["serialNumber"] != before["serialNumber"]:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the hub still serves the old certificate"
        time.sleep(1)
    assert "Pebble Intermediate" in issuer(after)
    # Her server lived through the hub's restart: its old kernel still answers, a new one runs a new cell.
    kernel.connect()
    assert kernel.execute("import os\nprint(os.getppid())", timeout=60).strip() == pid
    fresh = browser.kernel(USER)
    try:
        assert fresh.execute("print(6 * 7)", timeout=60).strip() == "42"
    finally:
        fresh.shutdown()


def _operator_certificate(folder):
    """A certificate for PUBLIC_HOST valid for 5 days, as an operator's CA issues it: (CA, certificate, key) files."""
    ca = certificates.issue("daskhub tests: the operator's CA", days=5, ca=True)
    certificate, key = certificates.issue(PUBLIC_HOST, (PUBLIC_HOST,), days=5, by=ca).write(
        folder / "operator-cert.pem", folder / "operator-key.pem"
    )
    return ca.write_certificate(folder / "operator-ca.pem"), certificate, key


def test_the_operators_certificate_is_served_then_acme_takes_over_again(public_stack, tmp_path):
    """daskhub_https_type: manual serves the operator's files; back to ACME, that certificate (5 days left,
    due) is replaced by pebble's at the next converge."""
    ca, certificate, key = _operator_certificate(tmp_path)
    bundle = tmp_path / "site-ca.pem"  # the site's CA bundle: the operator's CA beside pebble's root
    bundle.write_text(public_stack.site_ca.read_text() + ca.read_text())
    manual = tmp_path / "manual.json"
    manual.write_text(
        json.dumps(
            {
                "daskhub_https_type": "manual",
                "daskhub_https_certificate_file": str(certificate),
                "daskhub_https_key_file": str(key),
                "daskhub_https_ca_bundle": str(bundle),
            }
        )
    )
    output = public_stack.playbook("site.yml", "-e", f"@{manual}").stdout
    assert recap(output)["changed"] >= 1
    served = _wait_for_issuer(public_stack, "the operator's CA", cafile=bundle)
    assert ("DNS", PUBLIC_HOST) in served["subjectAltName"]
    assert "".join(key.read_text().splitlines()[1:2])[:40] not in output
    public_stack.playbook("site.yml")
    assert "Pebble Intermediate" in issuer(_wait_for_issuer(public_stack, "Pebble Intermediate", cafile=bundle))


def _wait_for_issuer(stack, name, cafile, timeout=60):
    """The served certificate once its issuer names ``name`` (the hub restarts to load a new one)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            served = served_certificate(stack, cafile)
            if name in issuer(served):
                return served
        except OSError:
            pass
        assert time.monotonic() < deadline, f"the hub does not serve a certificate from {name}"
        time.sleep(1)


def test_a_second_converge_changes_nothing_and_shows_no_key_or_secret(public_stack):
    checked = public_stack.playbook("site.yml", "--check", "--diff").stdout
    assert recap(checked)["changed"] == 0, checked[-4000:]
    output = public_stack.playbook("site.yml", "-vvv").stdout
    assert recap(output)["changed"] == 0, output[-4000:]
    # Nothing to do, so no module process: the certificate's files (as community.crypto made them) and the
    # service account were read in the worker (local_tls_state, local_preflight), not by a module each.
    started = sorted(set(re.findall(r"AnsiballZ_(\w+)\.py", output)))
    assert not started, f"a converge with nothing to do started modules: {started}"
    output += checked
    keys = [public_stack.prefix / "tls/privkey.pem", public_stack.prefix / "tls/acme-account.key"]
    for key in keys:
        body = "".join(line for line in key.read_text().splitlines() if "-----" not in line)
        assert body[:40] not in output
        assert key.stat().st_mode & 0o777 == 0o600
    for name, value in public_stack.secrets().items():
        if isinstance(value, str) and len(value) >= 16:
            assert value not in output, f"the secret {name} is in the -vvv output"
