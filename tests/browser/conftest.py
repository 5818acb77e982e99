"""Browser tests of the console: Playwright's sync API driving Debian's Chromium, headless.

The whole product runs on loopback for each test (the service, the Jira and the Flashduty
emulators: `e2e.conftest.make_stack(..., over_http=True)`), on SQLite. Playwright never downloads a browser
here: it drives /usr/bin/chromium. Without it (or without the `playwright` package) the
tests are skipped, unless JIRA_SYNC_REQUIRE_BROWSER=1 (CI), which makes that a failure.

Every test saves full-page screenshots to test-artifacts/screenshots/<test>-<name>.png.

One subtlety: between two calls, Playwright's sync API leaves its own event loop marked as
the thread's *running* loop (the calls switch greenlets inside it). Left like that, every
later `asyncio.run()` in this thread, and so every async test that runs after a browser
test in the same session, would fail with "cannot be called from a running event loop".
So the mark is set only while a browser test runs (`context` fixture) and cleared between
tests; work that needs its own event loop (creating a console account) runs in a thread.
"""
from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from console.conftest import ADMIN, add_user
from e2e.conftest import Stack, make_stack
from support import ADMIN_TOKEN

from jira_sync.crypto import generate_key
from jira_sync.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("JIRA_SYNC_CHROMIUM", "/usr/bin/chromium")  # Debian's; never a download
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REQUIRE_ENV = "JIRA_SYNC_REQUIRE_BROWSER"
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000


# ------------------------------------------------------------------ marker
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the console in headless Chromium (tests/browser)")
    config.addinivalue_line(
        "markers", "browser_settings(**overrides): Settings fields for the service of one browser test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# ------------------------------------------------------------------ the browser
def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the Python package 'playwright' is not installed ({exc}); pip install -e '.[test]'"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        return f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


class Driver:
    """Playwright's sync API, with its loop marked as running only while a browser test runs."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.loop = asyncio._get_running_loop()  # set by the start, see the module docstring
        try:
            self.browser: Browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except BaseException:
            self.playwright.stop()
            raise
        self.deactivate()

    def activate(self) -> None:
        asyncio._set_running_loop(self.loop)

    def deactivate(self) -> None:
        asyncio._set_running_loop(None)

    def close(self) -> None:
        self.activate()
        try:
            self.browser.close()
        finally:
            self.playwright.stop()
            self.deactivate()


@pytest.fixture(scope="session")
def driver() -> Iterator[Driver]:
    missing = _missing()
    if missing:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"browser tests cannot run: {missing} ({REQUIRE_ENV}=1)", pytrace=False)
        pytest.skip(f"browser tests skipped: {missing} (set {REQUIRE_ENV}=1 to make this a failure)")
    d = Driver()
    yield d
    d.close()


@pytest.fixture(scope="session")
def browser(driver: Driver) -> Browser:
    return driver.browser


@pytest.fixture
def expect(driver: Driver) -> Any:
    """Playwright's `expect`, with the timeout these tests use."""
    from playwright.sync_api import expect as pw_expect

    pw_expect.set_options(timeout=TIMEOUT_MS)
    return pw_expect


# ------------------------------------------------------------------ the product on loopback
@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """SQLite only (overrides the suite's sqlite/postgres `settings`); `browser_settings` marks add fields."""
    overrides: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers("browser_settings"))):
        overrides.update(mark.kwargs)
    return Settings(
        database_url=f"sqlite:///{tmp_path}/jira-sync.db",
        secret_key=generate_key(),
        admin_token=ADMIN_TOKEN,
        _env_file=None,
        **overrides,
    )


@pytest.fixture
def flavour() -> str:
    """The Jira emulator's flavour; parametrize `flavour` to change it."""
    return "cloud"


def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn` in a thread of its own (which has no running event loop) and return its result."""
    with ThreadPoolExecutor(1, thread_name_prefix="browser-tests") as pool:
        return pool.submit(fn, *args).result(timeout=60)


@pytest.fixture
def stack(settings: Settings, flavour: str) -> Iterator[Stack]:
    s, stop = in_thread(functools.partial(make_stack, settings, flavour, over_http=True))  # the browser needs a port
    try:
        in_thread(add_user, s.service, *ADMIN)
        yield s
    finally:
        stop()


# ------------------------------------------------------------------ pages
@pytest.fixture
def context(driver: Driver, stack: Stack) -> Iterator[BrowserContext]:
    driver.activate()
    try:
        ctx = driver.browser.new_context(viewport=DESKTOP, base_url=stack.service.url, locale="en-US")
        ctx.set_default_timeout(TIMEOUT_MS)
        try:
            yield ctx
        finally:
            ctx.close()
    finally:
        driver.deactivate()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A fresh tab (1280x900). Uncaught script errors on any page fail the test at teardown."""
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    if errors:
        pytest.fail("script errors in the console: " + "; ".join(errors), pytrace=False)


def sign_in(page: Page, username: str = ADMIN[0], password: str = ADMIN[1]) -> Page:
    page.goto("/console/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/$"))
    return page


@pytest.fixture
def signed_in(page: Page, shot: Callable[[Page, str], Path]) -> Page:
    """A tab (1280x900) signed in to the console as the admin account, on the integrations list."""
    sign_in(page)
    shot(page, "00-signed-in")
    return page


def _file_part(text: str) -> str:
    return re.sub(r"[^\w.\-\[\]]+", "_", text).strip("_")


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """`shot(page, name)`: a full-page screenshot at test-artifacts/screenshots/<test>-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = _file_part(request.node.name)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{test_name}-{_file_part(name)}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return take
