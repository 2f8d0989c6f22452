"""A real browser for the tests that look at the pages a user sees: Debian's Chromium, driven by Playwright.

One way to start it (:func:`chromium`), one login step (:func:`login`, the
hub's own form, as a person types into it; a login through an identity
provider's page is another function beside it, and the rest of a test does
not change), the page's failed responses (:class:`FailedResponses`) and a
screenshot per step (:class:`Screenshots`, kept in
``build/test-results/screenshots/<test>/NN-<step>.png`` for a person to look at).

The browser is the OS package (``/usr/bin/chromium``), never one Playwright
downloads: scripts/test-deps.sh installs it and the pinned Playwright
(requirements/tests.txt, with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
Where either is missing, :func:`missing` says which, for the test's skip.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from support.playbooks import ROOT

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (the tests run as root), no GPU, nothing the browser would
# fetch or sync by itself: the only traffic is the pages a test opens.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SCREENSHOTS = ROOT / "build" / "test-results" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}


def missing() -> str:
    """Why the browser cannot run here ("" when it can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (Debian's chromium; scripts/test-deps.sh installs it)"
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        return "playwright is not installed (requirements/tests.txt; scripts/test-deps.sh installs it)"
    return ""


@contextlib.contextmanager
def chromium():
    """A Chromium browser (Playwright's ``Browser``), closed at the end."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  only where it is installed

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, private_ca: bool = False):
    """A page in a fresh context (no cookies), the size of a laptop's screen.

    ``private_ca``: the site's certificate chains to a CA of the test's own
    (pebble's), which Chromium's trust store (NSS) does not hold; the page
    then takes any certificate, and the test checks the one served with
    Python's ssl against that CA (test_local_https).
    """
    return browser.new_context(viewport=VIEWPORT, ignore_https_errors=private_ca).new_page()


def appears(locator, timeout: float) -> bool:
    """Whether ``locator`` shows within ``timeout`` seconds (False, not an exception, when it does not)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    try:
        locator.wait_for(timeout=timeout * 1000)
    except PlaywrightTimeout:
        return False
    return True


def disappears(locator, timeout: float) -> bool:
    """Whether ``locator`` matches nothing within ``timeout`` seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    try:
        locator.wait_for(state="detached", timeout=timeout * 1000)
    except PlaywrightTimeout:
        return False
    return True


def login(page, hub_url: str, user: str, password: str, timeout: float = 30) -> None:
    """The hub's login form, as a person fills it in; returns once the form is sent and the hub answered."""
    page.goto(f"{hub_url.rstrip('/')}/hub/login", timeout=timeout * 1000)
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    with page.expect_navigation(timeout=timeout * 1000):
        page.click("#login_submit")


def request_token(page, hub_url: str, note: str, timeout: float = 30) -> str:
    """A token made on the hub's /hub/token page, as a person makes one; returns the token shown.

    The page's form is sent by its script (token.js, loaded by require.js after the page's load event
    may have fired): a click before that script attached its handler would send the form as a plain
    GET and show no token, so the click waits for the handler.
    """
    page.goto(f"{hub_url.rstrip('/')}/hub/token", timeout=timeout * 1000)
    page.wait_for_function(
        "() => { const form = document.getElementById('request-token-form');"
        " const events = window.jQuery && form && window.jQuery._data(form, 'events');"
        " return Boolean(events && events.submit); }",
        timeout=timeout * 1000,
    )
    page.fill("#token-note", note)
    page.locator("#request-token-form button[type=submit], #request-token-form input[type=submit]").click()
    page.locator("#token-result").wait_for(state="visible", timeout=timeout * 1000)
    return page.locator("#token-result").inner_text().strip()


def login_oidc(page, hub_url: str, user: str, shot=None, timeout: float = 60) -> None:
    """The identity provider's login page, as a person uses it: the hub's "Sign in" sends the browser
    there, she gives her name and authorizes, and the provider sends her back to the hub's callback.

    The page is oidc-provider-mock's own form (support/oidc_provider.py);
    ``shot``: a :class:`Screenshots`, for the provider's page.
    """
    page.goto(f"{hub_url.rstrip('/')}/hub/oauth_login", timeout=timeout * 1000)
    page.locator("#subject-input").wait_for(timeout=timeout * 1000)
    assert not page.url.startswith(hub_url), f"the hub did not send the browser to its provider: {page.url}"
    page.fill("#subject-input", user)
    if shot is not None:
        shot("identity-provider-login")
    with page.expect_navigation(timeout=timeout * 1000):
        page.locator('button[type="submit"]', has_text="Authorize").click()


class Screenshots:
    """Each step's PNG in SCREENSHOTS/<test>/NN-<step>.png; the folder is emptied first."""

    def __init__(self, page, test_name: str):
        self.page = page
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.taken: list[Path] = []

    def __call__(self, step: str, mask=()) -> Path:
        """Screenshot the page now; ``mask``: locators painted over (a token on the page)."""
        path = self.folder / f"{len(self.taken) + 1:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', step)}.png"
        self.page.screenshot(path=str(path), mask=list(mask))
        self.taken.append(path)
        return path

    def listing(self) -> str:
        return "\n".join(str(path.relative_to(ROOT)) for path in self.taken)


@dataclass
class FailedResponses:
    """Every response of the page (and its frames) with a status >= 400, and every request that failed."""

    page: object
    failures: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._failed)

    def _response(self, response):
        if response.status >= 400:
            self.failures.append(f"{response.status} {response.request.method} {response.url}")

    def _failed(self, request):
        failure = request.failure or ""
        # A page that navigates away aborts what it was still loading: not an error of the site.
        if "ERR_ABORTED" not in failure:
            self.failures.append(f"failed {request.method} {request.url}: {failure}")

    def matching(self, pattern: str) -> list[str]:
        return [failure for failure in self.failures if re.search(pattern, failure)]


class Stopwatch:
    """Times between named moments, in seconds, for the test's report."""

    def __init__(self):
        self.start = time.monotonic()
        self.marks: dict[str, float] = {}

    def mark(self, name: str) -> float:
        self.marks[name] = time.monotonic() - self.start
        return self.marks[name]

    def between(self, first: str, last: str) -> float:
        return self.marks[last] - self.marks[first]
