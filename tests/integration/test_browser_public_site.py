"""The public site in a real browser (Chromium): HTTPS, and logins through the identity provider's own page.

On the public stack (tests/support/public_stack.py: a certificate from pebble,
generic-oauth through oidc-provider-mock, whose ``groups`` claims decide):
alice (group physics) goes from the hub's address to the provider's login
page and back into JupyterLab, without the news prompt; bob (no allowed
group) is refused by the hub's own page; carol (group hub-admins) reaches
the hub's admin page. A screenshot per step in
build/test-results/screenshots/<test>/; alice's login-to-launcher and spawn
times in build/test-results/browser-times.json (beside the shared stack's).
"""

from __future__ import annotations

import json

import pytest
from support import chromium
from support.browser import Browser
from support.playbooks import ROOT
from support.public_stack import PUBLIC_STACK

pytestmark = [
    pytest.mark.stack,
    PUBLIC_STACK,
    pytest.mark.skipif(bool(chromium.missing()), reason=chromium.missing() or "browser present"),
]

NEWS_PROMPT = "official Jupyter news"
TIMES = ROOT / "build" / "test-results" / "browser-times.json"


def test_alice_bob_and_carol_log_in_through_the_identity_providers_page_over_https(public_stack, request):
    hub = public_stack.hub_url
    assert hub.startswith("https://")
    with chromium.chromium() as browser:
        page = chromium.new_page(browser, private_ca=True)
        shot = chromium.Screenshots(page, request.node.name)
        watch = chromium.Stopwatch()
        page.goto(f"{hub}/hub/login")
        shot("hub-login-page")
        watch.mark("login")
        chromium.login_oidc(page, hub, "alice", shot=shot)
        page.wait_for_url("**/user/alice/lab**", timeout=180_000)
        watch.mark("server")
        page.locator(".jp-Launcher").wait_for(timeout=60_000)
        watch.mark("launcher")
        assert page.url.startswith(f"{hub}/user/alice/lab"), page.url
        shot("alice-launcher")
        assert not page.get_by_text(NEWS_PROMPT).count(), "JupyterLab shows the news prompt"

        refused = chromium.new_page(browser, private_ca=True)
        shot.page = refused
        chromium.login_oidc(refused, hub, "bob")
        assert "403" in refused.content() or "Forbidden" in refused.content(), refused.url
        shot("bob-refused")

        admin = chromium.new_page(browser, private_ca=True)
        shot.page = admin
        chromium.login_oidc(admin, hub, "carol")
        admin.goto(f"{hub}/hub/admin")
        # The admin page's React app lists the hub's users, carol among them.
        assert chromium.appears(admin.get_by_text("carol").first, 30), admin.url
        shot("carol-admin-page")

    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    times["public site (identity provider, HTTPS)"] = {
        "login to launcher (s)": round(watch.between("login", "launcher"), 1),
        "provider login to the server's page (s)": round(watch.between("login", "server"), 1),
    }
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text(json.dumps(times, indent=2) + "\n")
    print("screenshots:\n" + shot.listing())
    print("times:", times["public site (identity provider, HTTPS)"])
    # alice's server stops: the public stack's other tests start it themselves.
    session = Browser(hub, ca_file=str(public_stack.site_ca))
    session.login_oidc("alice", next_path="/hub/home")
    session.stop_server("alice")
