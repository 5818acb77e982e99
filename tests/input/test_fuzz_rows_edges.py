"""The rows of the fuzzing report about who is asking and where the service is sent:
X-Forwarded-For and the sign-in lock-out, and /api/jira/check's base URL."""
from __future__ import annotations

import http.server
import re
import threading
from typing import Iterator

import httpx
import pytest

from console.conftest import ADMIN
from input.conftest import Intake, limited_settings
from support.service import ServiceThread

SECRET_PAGE = b"<h1>TOP-SECRET admin page</h1>"


def _failed_sign_in(base: str, forwarded_for: str) -> int:
    with httpx.Client(base_url=base) as c:
        page = c.get("/console/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/console/login", data={"username": ADMIN[0], "password": "wrong password!",
                                           "login_csrf": token}, headers={"X-Forwarded-For": forwarded_for})
        return r.status_code


@pytest.mark.parametrize("trusted, expected_sixth", [("", 429), ("127.0.0.1", 401)])
def test_x_forwarded_for_from_loopback_is_believed_only_from_trusted_proxies(tmp_path, trusted, expected_sixth):
    settings = limited_settings(f"sqlite:///{tmp_path}/x.db")
    settings.trusted_proxies = trusted
    service = ServiceThread(settings, run_worker=False).start()
    try:
        assert [_failed_sign_in(service.url, f"10.0.0.{i}") for i in range(5)] == [401] * 5
        # a new X-Forwarded-For: the same client unless the operator named its proxy
        assert _failed_sign_in(service.url, "10.0.0.99") == expected_sixth
    finally:
        service.stop()


class _Internal(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(403)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(SECRET_PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def internal_page() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("suffix, why", [
    ("/admin/secret-path?x=", "no query"), ("/#frag", "no query"), ("", None)])
def test_jira_check_takes_only_a_base_url_and_never_echoes_a_page(intake: Intake, internal_page, suffix, why):
    conn = {"platform": "cloud", "url": internal_page + suffix, "username": "u@example.com", "secret": "s"}
    r = intake.api.http.post("/api/jira/check", json={"connection": conn})
    assert b"TOP-SECRET" not in r.content
    if why:
        assert r.status_code == 422 and why in r.text
    else:
        assert r.status_code == 200 and r.json()["ok"] is False
        assert "403 Forbidden" in r.json()["message"]


@pytest.mark.parametrize("url", ["http://user:pw@jira.example.com", "http://jira.example.com:99999",
                                 "http://jira example.com", "http://", "ftp://jira.example.com"])
def test_jira_urls_with_user_info_bad_ports_spaces_or_no_host_are_422(intake: Intake, url):
    conn = {"platform": "cloud", "url": url, "username": "u@example.com", "secret": "s"}
    r = intake.api.http.post("/api/jira/check", json={"connection": conn})
    assert r.status_code == 422, r.text
    assert "pw" not in r.text


def test_console_step_1_refuses_a_url_with_a_query(intake: Intake, internal_page):
    c = intake.console
    c.get("/console/integrations/new")
    r = c.post("/console/integrations/new", {"platform": "cloud", "url": internal_page + "/admin?x=", "auth": "basic",
                                             "username": "u@example.com", "secret": "s", "verify_tls": "1"})
    assert r.status_code in (200, 400, 422) and "no query" in r.text
    assert "TOP-SECRET" not in r.text


@pytest.mark.parametrize("username", ["ad\x00min", "a" * 5000, "admin\x07"])
def test_a_sign_in_name_no_account_can_have_is_a_failed_sign_in(intake: Intake, username):
    # found by the console property test: a NUL reached PostgreSQL (500)
    mark = intake.log.mark()
    with httpx.Client(base_url=intake.url) as c:
        token = re.search(r'name="login_csrf" value="([^"]+)"', c.get("/console/login").text).group(1)  # type: ignore[union-attr]
        r = c.post("/console/login", data={"username": username, "password": "x" * 12, "login_csrf": token})
    assert r.status_code in (401, 429)
    assert intake.log.tracebacks(mark) == []


def test_a_nul_in_any_console_form_is_a_400_and_changes_nothing(intake: Intake):
    from console.conftest import form_fields

    c = intake.console
    c.get("/console/integrations/new")
    step2 = c.post("/console/integrations/new", {"platform": "cloud", "url": intake.stack.jira_url, "auth": "basic",
                                                 "username": "admin@example.com", "secret": "cloud-token",
                                                 "verify_tls": "1"})
    fields = {**form_fields(step2.text, "setup"), "name": "nul\x00name", "action": "save"}
    before = len(intake.api.http.get("/api/integrations").json())
    r = c.http.post("/console/integrations/setup", data=fields)
    assert r.status_code == 400 and "NUL" in r.text
    assert len(intake.api.http.get("/api/integrations").json()) == before
