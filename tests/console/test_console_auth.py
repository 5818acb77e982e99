"""Console sign-in: accounts, sessions, CSRF. In-process against the running service; only the
CSRF test that changes an integration needs the Jira emulator (to save one)."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from jira_sync.store.db import make_engine
from jira_sync.store.tables import console_sessions, console_users

from .conftest import ADMIN, Console


def _rows(service, table):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        engine = make_engine(service.runtime.settings.database_url)
        try:
            async with engine.connect() as conn:
                return [dict(r) for r in (await conn.execute(sa.select(table))).mappings()]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_pages_need_sign_in_and_the_api_token_is_not_a_session(console_service) -> None:  # type: ignore[no-untyped-def]
    c = Console(console_service)
    for path in ("/console/", "/console/integrations/new", "/console/integrations/1"):
        r = c.http.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next="), path
    r = c.http.get("/console/", headers={"Authorization": "Bearer " + console_service.runtime.settings.admin_token.get_secret_value()},
                   follow_redirects=False)
    assert r.status_code == 303
    # and the REST API keeps its token: a console session does not open it
    c.sign_in()
    assert c.http.get("/api/integrations").status_code == 401
    c.close()


def test_sign_in_sets_a_safe_cookie_and_stores_only_hashes(console_service) -> None:  # type: ignore[no-untyped-def]
    c = Console(console_service)
    page = c.get("/console/login")
    assert "Sign in" in page.text
    r = c.sign_in()
    assert r.url.path == "/console/" and "Integrations" in r.text
    cookie_header = next(h for h in r.history[0].headers.get_list("set-cookie") if h.startswith("jira_sync_session="))
    lowered = cookie_header.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/" in lowered
    token = c.http.cookies["jira_sync_session"]
    sessions = _rows(console_service, console_sessions)
    assert len(sessions) == 1 and token not in str(sessions) and len(sessions[0]["token_hash"]) == 64
    users = _rows(console_service, console_users)
    assert users[0]["password_hash"].startswith("$argon2id$") and ADMIN[1] not in str(users)
    # security headers on console pages
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    # sign out ends the session server-side: the old cookie no longer works
    c.post("/console/logout", {})
    assert _rows(console_service, console_sessions) == []
    c.http.cookies.set("jira_sync_session", token)
    assert c.http.get("/console/", follow_redirects=False).status_code == 303
    c.close()


def test_wrong_password_and_throttling(console_service) -> None:  # type: ignore[no-untyped-def]
    c = Console(console_service)
    r = c.sign_in(password="wrong password!")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    assert "jira_sync_session" not in c.http.cookies
    r = c.sign_in(username="nobody")
    assert r.status_code == 401 and "Wrong user name or password" in r.text  # same answer: no user enumeration
    for _ in range(3):
        c.sign_in(password="still wrong")
    r = c.sign_in()  # even the right password waits after 5 failures from this address
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    c.close()


def test_sign_in_form_needs_its_csrf_cookie(console_service) -> None:  # type: ignore[no-untyped-def]
    c = Console(console_service)
    r = c.http.post("/console/login", data={"username": ADMIN[0], "password": ADMIN[1], "login_csrf": "forged"})
    assert r.status_code == 400 and "jira_sync_session" not in c.http.cookies
    c.close()


def test_forms_without_the_csrf_token_change_nothing(cloud_console) -> None:  # type: ignore[no-untyped-def]
    integration_id, _ = cloud_console.integration()
    c = Console(cloud_console.service)
    c.sign_in()
    for data in ({}, {"csrf_token": "0" * 64}):
        r = c.http.post(f"/console/integrations/{integration_id}/disable", data=data)
        assert r.status_code == 403 and "Nothing was changed" in r.text
        r = c.http.post(f"/console/integrations/{integration_id}/delete", data=data)
        assert r.status_code == 403
    assert cloud_console.api.get(f"/api/integrations/{integration_id}").json()["enabled"] is True
    # another user's token is no good either: tokens are bound to the session
    other = Console(cloud_console.service)
    other.sign_in()
    other.get("/console/")
    stolen = other.csrf()
    r = c.http.post(f"/console/integrations/{integration_id}/disable", data={"csrf_token": stolen})
    assert r.status_code == 403
    c.get(f"/console/integrations/{integration_id}")
    r = c.post(f"/console/integrations/{integration_id}/disable", {})
    assert r.status_code == 200 and "Integration disabled" in r.text
    assert cloud_console.api.get(f"/api/integrations/{integration_id}").json()["enabled"] is False
    c.close()
    other.close()


def test_next_is_only_a_console_path(console_service) -> None:  # type: ignore[no-untyped-def]
    c = Console(console_service)
    page = c.get("/console/login", params={"next": "https://evil.example/"})
    assert 'name="next" value="/console/"' in page.text
    page = c.get("/console/login", params={"next": "//evil.example/console/"})
    assert 'name="next" value="/console/"' in page.text
    c.close()
