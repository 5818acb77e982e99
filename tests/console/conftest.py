"""The console as a browser without JavaScript sees it: the service, the Jira and Flashduty
emulators (in-process, `e2e.conftest.make_stack`), a signed-in client."""
from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from e2e.conftest import Stack, make_stack

from jira_sync.console.auth import Accounts
from jira_sync.settings import Settings
from jira_sync.store.db import make_engine
from support.service import InProcessService, Service

ADMIN = ("admin", "correct horse battery")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CONN = re.compile(r'name="conn_token" value="([^"]+)"')


def add_user(service: Service, username: str, password: str) -> None:
    """A console account, as `jira-sync users add` makes it. The service's loop runs in its
    own thread, so this uses a loop and an engine of its own on the same database."""
    settings = service.runtime.settings

    async def go() -> None:
        engine = make_engine(settings.database_url)
        try:
            await Accounts(engine, settings.secret_key.get_secret_value()).add_user(username, password)
        finally:
            await engine.dispose()

    asyncio.run(go())


class Console:
    """A browser without JavaScript: cookies, forms, redirects."""

    def __init__(self, service: Service) -> None:
        self.http = service.client(follow_redirects=True)
        self.last: httpx.Response | None = None

    def get(self, path: str, **kw: Any) -> httpx.Response:
        self.last = self.http.get(path, **kw)
        return self.last

    def csrf(self) -> str:
        assert self.last is not None
        m = _CSRF.search(self.last.text)
        assert m, "no CSRF token on the page"
        return m.group(1)

    def conn_token(self) -> str:
        assert self.last is not None
        m = _CONN.search(self.last.text)
        assert m, "no connection token on the page"
        return m.group(1)

    def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]], *, csrf: bool = True, **kw: Any) -> httpx.Response:
        if csrf:
            token = self.csrf()
            data = [*data, ("csrf_token", token)] if isinstance(data, list) else {**data, "csrf_token": token}
        self.last = self.http.post(path, data=data, **kw)
        return self.last

    def sign_in(self, username: str = ADMIN[0], password: str = ADMIN[1]) -> httpx.Response:
        page = self.get("/console/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        self.last = self.http.post("/console/login", data={"username": username, "password": password,
                                                          "login_csrf": token, "next": "/console/"})
        return self.last

    def close(self) -> None:
        self.http.close()


def _signed_up_stack(settings: Settings, flavour: str, *, over_http: bool = False):  # type: ignore[no-untyped-def]
    stack, stop = make_stack(settings, flavour, over_http=over_http)
    add_user(stack.service, *ADMIN)
    yield stack
    stop()


@pytest.fixture
def console_service(settings: Settings):  # type: ignore[no-untyped-def]
    """The service alone, with the admin account and no emulators: for sign-in, session,
    cookie and CSRF tests that never reach Jira or Flashduty."""
    service = InProcessService(settings).start()
    add_user(service, *ADMIN)
    yield service
    service.stop()


@pytest.fixture(params=["cloud", "server"])
def console_stack(request: pytest.FixtureRequest, settings: Settings):  # type: ignore[no-untyped-def]
    yield from _signed_up_stack(settings, request.param)


@pytest.fixture
def c(console_stack):  # type: ignore[no-untyped-def]
    """A signed-in console on each platform (a test file may narrow it, as test_console_watch does)."""
    client = Console(console_stack.service)
    client.sign_in()
    yield client
    client.close()


@pytest.fixture
def cloud_console(settings: Settings):  # type: ignore[no-untyped-def]
    yield from _signed_up_stack(settings, "cloud")


@pytest.fixture
def cloud_console_over_http(settings: Settings):  # type: ignore[no-untyped-def]
    """Jira as a real server, for a console test that stops it (refused connections)."""
    yield from _signed_up_stack(settings, "cloud", over_http=True)


class _FormReader:
    """What a browser would submit for one form: inputs, checked boxes, selected options, textareas."""

    def __init__(self, form_id: str) -> None:
        from html.parser import HTMLParser

        reader = self

        class Parser(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                reader.start(tag, dict(attrs))

            def handle_endtag(self, tag: str) -> None:
                reader.end(tag)

            def handle_data(self, data: str) -> None:
                reader.data(data)

        self.parser = Parser()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: dict[str, Any] | None = None
        self.option: dict[str, Any] | None = None
        self.textarea: dict[str, Any] | None = None
        self.disabled_depth = 0

    def start(self, tag: str, a: dict[str, str | None]) -> None:
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "fieldset" and "disabled" in a:
            self.disabled_depth += 1
        off = "disabled" in a or self.disabled_depth > 0
        if tag == "input" and a.get("name") and not off:
            kind = a.get("type") or "text"
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            if kind not in ("submit", "button", "image", "reset"):
                self.fields.append((a["name"] or "", a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self.select = {"name": a["name"], "off": off, "chosen": None, "first": None}
        elif tag == "option" and self.select is not None:
            self.option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
        elif tag == "textarea" and a.get("name"):
            self.textarea = {"name": a["name"], "text": "", "off": off}

    def data(self, text: str) -> None:
        if self.option is not None:
            self.option["text"] += text
        if self.textarea is not None:
            self.textarea["text"] += text

    def end(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "option" and self.option is not None and self.select is not None:
            value = self.option["value"] if self.option["value"] is not None else self.option["text"]
            if self.select["first"] is None:
                self.select["first"] = value
            if self.option["selected"]:
                self.select["chosen"] = value
            self.option = None
        elif tag == "select" and self.select is not None:
            chosen = self.select["chosen"] if self.select["chosen"] is not None else self.select["first"]
            if not self.select["off"] and chosen is not None:
                self.fields.append((self.select["name"], chosen))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            if not self.textarea["off"]:
                self.fields.append((self.textarea["name"], self.textarea["text"].removeprefix("\n")))
            self.textarea = None
        elif tag == "fieldset" and self.disabled_depth:
            self.disabled_depth -= 1
        elif tag == "form":
            self.inside = False


def form_fields(html_text: str, form_id: str) -> dict[str, str]:
    reader = _FormReader(form_id)
    reader.parser.feed(html_text)  # HTMLParser unescapes attribute values and text itself
    return dict(reader.fields)


CREDENTIALS = {"cloud": ("admin@example.com", "cloud-token"), "server": ("admin", "secret")}


def start_setup(c: Console, stack: Stack, **overrides: str) -> httpx.Response:
    """Step 1 with the emulator's credentials (or overrides); returns step 2 (or step 1 with an error)."""
    username, secret = CREDENTIALS[stack.flavour]
    c.get("/console/integrations/new")
    data = {"platform": stack.flavour, "url": stack.jira_url, "auth": "basic", "username": username,
            "secret": secret, "verify_tls": "1", **overrides}
    return c.post("/console/integrations/new", data)


def step2(c: Console, action: str, **changes: str) -> httpx.Response:
    """Submit the configuration form as shown, with `changes`, pressing the button `action`."""
    assert c.last is not None
    fields = form_fields(c.last.text, "setup")
    fields.update(changes)
    fields["action"] = action
    c.last = c.http.post("/console/integrations/setup", data=fields)
    return c.last
