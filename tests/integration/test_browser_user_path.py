"""The user's path in a real browser (Chromium), on the shared deployed local stack.

alice logs in through the hub's login page, JupyterLab opens without the
"official Jupyter news" prompt, a notebook made from the launcher runs the
site's snippet, the Dask panel shows that cluster by itself (no URL pasted)
and one of its plots draws, the panel's +NEW makes a gateway cluster, and
/hub/token makes a token. Each step leaves a screenshot in
build/test-results/screenshots/<test>/; the page's failed responses are
recorded, and none may come from the Dask panel. The times a person waits
(login to the launcher, the server's spawn) are printed.
"""

from __future__ import annotations

import json
import re
import urllib.error

import pytest
from support import chromium
from support.browser import Browser
from support.playbooks import ROOT
from support.stacks import LOCAL_STACK

pytestmark = [
    pytest.mark.stack,
    LOCAL_STACK,
    pytest.mark.skipif(bool(chromium.missing()), reason=chromium.missing() or "browser present"),
]

USER = "alice"  # a user of the default inventory
# The snippet the deploy's closing message gives users (render/local/usage.py), then a computation.
SNIPPET = """from dask_gateway import GatewayCluster
cluster = GatewayCluster(worker_cores=1, worker_memory=2)
client = cluster.get_client()
print("cluster:", cluster.name)
cluster.scale(1)
import dask.array as da
print("sum:", int(da.ones((1000, 1000), chunks=(250, 250)).sum().compute()))
"""
SUM = "sum: 1000000"
# Work for the plot to show while it is in view: 256 tasks in the background (about a second of a
# worker's core; the Task Stream keeps them after they end).
AGAIN = 'work = client.compute(da.random.random((8000, 8000), chunks=(500, 500)).sum()); print("again:", work.key)'
NEWS_PROMPT = "official Jupyter news"
ANNOUNCEMENTS_PLUGIN = "@jupyterlab/apputils-extension:announcements"
# The Dask panel's requests: its cluster list, dashboard checks and proxies, the plots' index.
PANEL_REQUESTS = r"/dask/|individual-plots\.json|/proxy/"
TIMES = ROOT / "build" / "test-results" / "browser-times.json"


def _stopped(stack, password):
    """alice's server not running, so the browser sees its spawn."""
    browser = Browser(stack.hub_url)
    browser.login(USER, password, next_path="/hub/home")
    try:
        browser.stop_server(USER)
    except urllib.error.HTTPError as err:
        assert err.code in (400, 404), f"could not stop {USER}'s server: HTTP {err.code}"
    return browser


def _run_cell(page, code, expect, timeout):
    """Type ``code`` into the notebook's last cell, run it, wait for ``expect`` in its output."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    cell = cells.nth(cells.count() - 1)  # this one: running it adds a new last cell
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    # Run means queued: "[*]" then a number. A press the page did not take (still "[ ]") is pressed again.
    prompt = cell.locator(".jp-InputPrompt")
    if not chromium.appears(prompt.filter(has_text=re.compile(r"\[(\*|\d+)\]")), 15):
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output", has_text=expect).first
    assert chromium.appears(output, timeout), f"no {expect!r} in the output of {code!r}: {cell.inner_text()[-2000:]}"
    return output.inner_text()


def _tab(page, title):
    """The main area's tab whose title has ``title``."""
    return page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=title).first


def _panel_state(page):
    return {
        "url": page.locator(".dask-URLInput input").input_value(),
        "plots": page.locator(".dask-DashboardListing-item button").all_inner_texts(),
        "clusters": page.locator(".dask-ClusterListingItem-title").all_inner_texts(),
        "links": [link.get_attribute("href") for link in page.locator(".dask-ClusterListingItem-link a").all()],
    }


def test_alice_in_chromium_notebook_dask_panel_new_cluster_and_token(local_stack, request):
    password = local_stack.secrets()["dummy_password"]
    hub = local_stack.hub_url
    _stopped(local_stack, password)
    problems = []
    with chromium.chromium() as browser:
        page = chromium.new_page(browser)
        shot = chromium.Screenshots(page, request.node.name)
        failed = chromium.FailedResponses(page)
        pending = set()
        page.on("request", lambda req: pending.add(req.url))
        page.on("requestfinished", lambda req: pending.discard(req.url))
        page.on("requestfailed", lambda req: pending.discard(req.url))
        watch = chromium.Stopwatch()
        page.on(
            "framenavigated",
            lambda frame: (
                frame == page.main_frame
                and "/hub/spawn" in frame.url
                and "spawn" not in watch.marks
                and watch.mark("spawn")
            ),
        )
        page.goto(f"{hub}/hub/login")
        shot("login-page")
        watch.mark("login")
        chromium.login(page, hub, USER, password)
        page.wait_for_url(f"**/user/{USER}/lab**", timeout=120_000)
        watch.mark("server")
        if not chromium.appears(page.locator(".jp-Launcher"), 60):
            # Once seen in a whole run (not again alone or under load): what the page waited on.
            shot("no-launcher")
            log = local_stack.prefix / "log" / "servers" / f"{USER}.log"
            pytest.fail(
                f"no launcher 60 s after {page.url} loaded; requests still open: {sorted(pending)}; "
                f"failed: {failed.failures}; {log.name}: {log.read_text()[-3000:] if log.exists() else 'none'}"
            )
        watch.mark("launcher")
        shot("launcher")

        # The announcements plugin is off for the whole site, so its prompt never shows.
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        disabled = config.get("disabledExtensions") or []
        if ANNOUNCEMENTS_PLUGIN not in disabled:
            problems.append(f"{ANNOUNCEMENTS_PLUGIN} is not in the page config's disabledExtensions: {disabled}")

        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
        page.locator(".jp-Notebook").wait_for(timeout=60_000)
        # The kernel started and connected: the status bar names it and says Idle. (The execution
        # indicator says idle before there is a kernel at all, and a cell run then is dropped.)
        kernel_idle = page.get_by_text(re.compile(r"\(ipykernel\)\s*\|\s*Idle")).first
        assert chromium.appears(kernel_idle, 180), "the notebook's kernel did not start"
        shot("notebook")
        watch.mark("cell")
        output = _run_cell(page, SNIPPET, SUM, timeout=180)
        watch.mark("sum")
        shot("snippet-sum")
        assert SUM in output, output
        cluster_name = re.search(r"cluster: (\S+)", output).group(1)

        if not page.locator(".dask-DaskSidebar").is_visible():
            page.locator('.jp-SideBar [data-id="dask-dashboard-launcher"]').click()
        page.locator(".dask-DaskSidebar").wait_for(timeout=10_000)
        if not chromium.appears(page.locator(".dask-DashboardListing-item button").first, 40):
            problems.append(f"the Dask panel did not connect by itself: {_panel_state(page)}")
        if page.locator(".dask-ClusterListingItem").count():
            page.locator(".dask-ClusterListingItem").first.scroll_into_view_if_needed()
        shot("dask-panel")
        # Long after JupyterLab started, where the prompt would have shown (a notification toast).
        if page.get_by_text(NEWS_PROMPT).count():
            problems.append(f"JupyterLab shows the {NEWS_PROMPT!r} prompt")
        print("panel after the notebook's cluster:", _panel_state(page))
        if cluster_name not in _panel_state(page)["clusters"]:
            problems.append(f"the notebook's cluster {cluster_name} is not in the Dask panel: {_panel_state(page)}")

        # Auto-detect (the magnifier), as a user would if it had not connected.
        if not page.locator(".dask-DashboardListing-item button").count():
            page.locator('.dask-URLInput [title="Auto-detect dashboard URL"]').click()
            if not chromium.appears(page.locator(".dask-DashboardListing-item button").first, 20):
                problems.append(f"auto-detect did not connect either: {_panel_state(page)}")
            shot("dask-panel-auto-detect")
            print("panel after auto-detect:", _panel_state(page))

        for plot in ("Task Stream", "Progress"):
            button = page.locator(".dask-DashboardListing-item button", has_text=plot)
            if button.count():
                button.first.click()
                frame = page.frame_locator('.dask-DaskDashboard-widget iframe[src*="individual-"]').last
                if not chromium.appears(frame.locator("canvas").first, 30):
                    problems.append(f"the {plot} plot did not draw")
                _tab(page, ".ipynb").click()
                _run_cell(page, AGAIN, "again:", timeout=60)
                _tab(page, plot).click()
                page.wait_for_timeout(4000)
                shot(f"plot-{plot}")
                break
        else:
            problems.append("no Task Stream or Progress plot in the Dask panel")

        # +NEW: a gateway cluster, listed by the panel.
        page.locator(".dask-DaskClusterManager .jp-Toolbar").get_by_text("NEW").click()
        # The panel names its own clusters after their class; it lists the notebook's by their gateway name.
        new_cluster = (
            page.locator(".dask-ClusterListingItem")
            .filter(has=page.locator(".dask-ClusterListingItem-title", has_text=re.compile(r"^GatewayCluster \d+$")))
            .last
        )
        if not chromium.appears(new_cluster, 120):
            problems.append(f"+NEW made no cluster: {_panel_state(page)}")
        watch.mark("new")
        new_cluster.scroll_into_view_if_needed()
        shot("dask-panel-new-cluster")
        print("panel after +NEW:", _panel_state(page))
        new_link = new_cluster.locator(".dask-ClusterListingItem-link a").first.get_attribute("href") or ""
        if f"/user/{USER}/proxy/" not in new_link or "/services/dask-gateway/clusters/" not in new_link:
            problems.append(f"+NEW's cluster is not a gateway cluster seen through {USER}'s server: {new_link}")

        # +NEW's cluster and the notebook's, shut down from where they were made: the panel lists neither then.
        new_name = new_cluster.locator(".dask-ClusterListingItem-title").inner_text()
        # Until now no failed response from the panel; after, only for the dashboards of the clusters shut down:
        # dask-labextension keeps polling the dashboard it showed last, and an ended cluster's answers 502 (the
        # gateway's proxy still routes to the scheduler that just stopped) and then 404 (the route is gone).
        panel_failures = failed.matching(PANEL_REQUESTS)
        if panel_failures:
            problems.append("the Dask panel's failed responses:\n  " + "\n  ".join(panel_failures))
        ended = (cluster_name, new_link.rstrip("/").removesuffix("/status").rsplit("/", 1)[-1])
        new_cluster.locator('button[title^="Shutdown"]').click()
        _tab(page, ".ipynb").click()
        _run_cell(page, "cluster.shutdown(); print('shut down')", "shut down", timeout=60)
        for name in (new_name, cluster_name):
            listed = page.locator(".dask-ClusterListingItem-title", has_text=re.compile(f"^{re.escape(name)}$"))
            if not chromium.disappears(listed, 30):
                problems.append(f"the panel still lists {name} after its shutdown: {_panel_state(page)}")
        shot("clusters-shut-down")

        # /hub/token: a token, made in the page (painted over in the screenshot).
        token = chromium.request_token(page, hub, "browser test")
        shot("token", mask=[page.locator("#token-result")])
        assert len(token) >= 32, "no token in the page"
        page.wait_for_timeout(1000)

        later = [
            failure
            for failure in failed.matching(PANEL_REQUESTS)[len(panel_failures) :]
            if not (failure.startswith(("404 ", "502 ")) and any(f"/clusters/{name}/" in failure for name in ended))
        ]
        if later:
            problems.append("the Dask panel's failed responses after the shutdown:\n  " + "\n  ".join(later))
        print("failed responses of the page:\n  " + "\n  ".join(failed.failures or ["(none)"]))

        times = {
            "login_to_launcher_s": round(watch.between("login", "launcher"), 1),
            "spawn_s": round(watch.between("spawn", "server"), 1) if "spawn" in watch.marks else None,
            "snippet_to_sum_s": round(watch.between("cell", "sum"), 1),
        }
        TIMES.parent.mkdir(parents=True, exist_ok=True)
        TIMES.write_text(json.dumps(times, indent=1))
        print("times seen in the browser:", times)
        print("screenshots:\n" + shot.listing())

        # The token made here, the notebook's and +NEW's clusters, the server: gone again.
        _cleanup(page, hub, token)
    assert not problems, "\n".join(problems)


def _cleanup(page, hub, token):
    headers = {"Authorization": f"token {token}"}
    page.request.delete(f"{hub}/hub/api/users/{USER}/server", headers=headers)
    tokens = page.request.get(f"{hub}/hub/api/users/{USER}/tokens", headers=headers).json()
    for item in tokens.get("api_tokens", []):
        if item.get("note") == "browser test":
            page.request.delete(f"{hub}/hub/api/users/{USER}/tokens/{item['id']}", headers=headers)
