"""Console pages for signing in and for watching and acting: integrations, incidents, timelines.

Each page reads through the same functions as the REST API (`web/api.py`), so the console
shows exactly what the API would answer.
"""
from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from ..domain.conditions import format_conditions
from ..store import integrations as integration_store
from ..store.tables import incidents
from ..web import api
from .auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_IDLE_SECONDS, SignedIn
from .web import accounts, checked_form, render, runtime, signed_in

log = logging.getLogger(__name__)  # who changed what: the console's audit trail
router = APIRouter(prefix="/console", include_in_schema=False)
User = Annotated[SignedIn, Depends(signed_in)]
PAGE_SIZE = 50
# what happened to each event received (events.outcome), in words
OUTCOME_WORDS = {
    "queued": "queued for Jira",
    "stored": "stored (the trigger did not fire)",
    "out_of_channel_scope": "outside the integration's channels: ignored",
}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _secure(request: Request) -> bool:
    return runtime(request).settings.base_url.startswith("https://")


def _safe_next(value: Any) -> str:
    # only our own pages: never an absolute URL or a scheme-relative one (open redirect)
    if isinstance(value, str) and value.startswith("/console/") and not value.startswith("//"):
        return value
    return "/console/"


# ------------------------------------------------------------------ sign-in
def _login_form(request: Request, status: int = 200, *, next: Any, username: str = "", error: str = "",
                has_users: bool = True) -> Response:
    """The sign-in page with a fresh double-submit token (there is no session to tie a CSRF token to yet)."""
    token = secrets.token_urlsafe(24)
    page = render(request, "login.html", status, login_csrf=token, next=_safe_next(next), username=username,
                  error=error, has_users=has_users)
    page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/console/login")
    return page


@router.get("/login")
async def login_page(request: Request, next: str = "/console/", error: str = "") -> Response:
    return _login_form(request, next=next, error=error, has_users=await accounts(request).has_users())


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    acc = accounts(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    presented = form.get("login_csrf")
    username = str(form.get("username") or "")
    client = request.client.host if request.client else "?"

    def again(error: str, status: int) -> Response:
        return _login_form(request, status, next=form.get("next"), username=username, error=error)

    if not cookie or not isinstance(presented, str) or not secrets.compare_digest(cookie, presented):
        return again("The sign-in form expired. Please sign in again.", 400)
    if acc.throttled(client):
        return again("Too many failed sign-ins from this address. Wait a few minutes, then try again.", 429)
    signed = await acc.sign_in(username, str(form.get("password") or ""), client)
    if signed is None:
        log.warning("console: failed sign-in for %r from %s", username[:100], client)
        return again("Wrong user name or password.", 401)
    log.info("console: %s signed in from %s", signed.username, client)
    response = see_other(_safe_next(form.get("next")))
    response.set_cookie(SESSION_COOKIE, signed.token, max_age=int(SESSION_IDLE_SECONDS), httponly=True,
                        samesite="lax", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def logout(request: Request, user: User) -> Response:
    await checked_form(request, user)
    await accounts(request).sign_out(user.token)
    response = see_other("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------ integrations
@router.get("/")
async def integrations_page(request: Request, user: User, notice: str = "") -> Response:
    rt = runtime(request)
    async with rt.engine.connect() as conn:
        rows = await integration_store.list_rows(conn)
    items = [await api.integration_out(rt, r) for r in rows]
    return render(request, "integrations.html", items=items, notice=notice)


@router.get("/integrations/{integration_id}")
async def integration_page(
    request: Request, user: User, integration_id: int, state: str = "", q: str = "", before: int | None = None,
    notice: str = "",
) -> Response:
    rt = runtime(request)
    row = await api.integration_row(rt, integration_id)
    it = await api.integration_out(rt, row)
    state = state if state in ("idle", "pending", "failed") else ""
    page = await api.incident_page(rt, row, state=state or None, before=before, limit=PAGE_SIZE, incident_id=q.strip() or None)
    for inc in page["items"]:
        _name_priority(inc, row)
    base = f"/console/integrations/{integration_id}"
    params = {k: v for k, v in (("state", state), ("q", q.strip())) if v}
    next_url = f"{base}?{urlencode({**params, 'before': page['next_before']})}" if page["next_before"] else None
    first_url = f"{base}?{urlencode(params)}" if before else None
    context = dict(it=it, incidents=page["items"], state=state, q=q, next_url=next_url, first_page_url=first_url,
                   notice=notice, conditions_text=format_conditions(row.config.get("conditions")))
    return render(request, "integration.html", **context)


@router.post("/integrations/{integration_id}/enable")
async def enable(request: Request, user: User, integration_id: int) -> Response:
    return await _switch(request, user, integration_id, "enable")


@router.post("/integrations/{integration_id}/disable")
async def disable(request: Request, user: User, integration_id: int) -> Response:
    return await _switch(request, user, integration_id, "disable")


async def _switch(request: Request, user: SignedIn, integration_id: int, switch: str) -> Response:
    await checked_form(request, user)
    rt = runtime(request)
    await rt.admin.set_enabled(integration_id, switch == "enable")
    log.info("console: %s %sd integration %d", user.username, switch, integration_id)
    if switch == "enable":
        rt.wake.set()  # incidents that waited while it was disabled
    back = request.headers.get("referer", "")
    target = f"/console/integrations/{integration_id}" if f"/integrations/{integration_id}" in back else "/console/"
    return see_other(f"{target}?{urlencode({'notice': f'Integration {switch}d.'})}")


@router.get("/integrations/{integration_id}/delete")
async def confirm_delete(request: Request, user: User, integration_id: int) -> Response:
    rt = runtime(request)
    row = await api.integration_row(rt, integration_id)
    async with rt.engine.connect() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).where(incidents.c.integration_id == integration_id))
    return render(request, "confirm_delete.html", id=row.id, name=row.name, incidents=count)


@router.post("/integrations/{integration_id}/delete")
async def delete(request: Request, user: User, integration_id: int) -> Response:
    await checked_form(request, user)
    rt = runtime(request)
    row = await api.integration_row(rt, integration_id)
    await rt.admin.delete(integration_id)
    log.info("console: %s deleted integration %d (%s)", user.username, integration_id, row.name)
    return see_other(f"/console/?{urlencode({'notice': f'Integration {row.name!r} deleted.'})}")


@router.post("/integrations/{integration_id}/webhook-secret")
async def rotate_secret(request: Request, user: User, integration_id: int) -> Response:
    await checked_form(request, user)
    rt = runtime(request)
    row = await api.integration_row(rt, integration_id)
    secret = await rt.admin.rotate_webhook_secret(integration_id)
    log.info("console: %s made a new webhook secret for integration %d", user.username, integration_id)
    return render(request, "saved.html", heading="New webhook secret", name=row.name, integration_id=row.id,
                  message="The old secret no longer works. Update the header value in Flashduty now.",
                  webhook=api.webhook_info(rt, row.id, secret), trigger=row.config["trigger"], warnings=[])


def _name_priority(inc: dict[str, Any], integration: Any) -> None:
    """The Jira priority as a person knows it: its name, from what the last check learned."""
    names = (integration.jira_meta or {}).get("priorities") or {}
    priority_id = inc["jira"]["priority_id"]
    inc["jira"]["priority"] = names.get(priority_id or "", priority_id)


# ------------------------------------------------------------------ one incident
def _timeline(detail: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [{"kind": "event", "at": e["received_at"], **e} for e in detail["events"]]
    entries += [{"kind": "exchange", **x} for x in detail["history"]]
    return sorted(entries, key=lambda e: e["at"])


@router.get("/integrations/{integration_id}/incidents/{incident_id}")
async def incident_page(request: Request, user: User, integration_id: int, incident_id: str,
                        notice: str = "", error: str = "") -> Response:
    rt = runtime(request)
    row = await api.integration_row(rt, integration_id)
    detail = await api.incident_detail(rt, row, incident_id)
    _name_priority(detail, row)
    it = {"id": row.id, "name": row.name, "config": row.config}
    note = f"Events and Jira exchanges are kept {rt.settings.history_days:g} days."
    return render(request, "incident.html", it=it, inc=detail, timeline=_timeline(detail), notice=notice, error=error,
                  history_note=note, outcome_words=OUTCOME_WORDS)


@router.post("/integrations/{integration_id}/incidents/{incident_id}/sync")
async def sync_incident(request: Request, user: User, integration_id: int, incident_id: str) -> Response:
    return await _incident_action(request, user, integration_id, incident_id, "sync")


@router.post("/integrations/{integration_id}/incidents/{incident_id}/retry")
async def retry_incident(request: Request, user: User, integration_id: int, incident_id: str) -> Response:
    return await _incident_action(request, user, integration_id, incident_id, "retry")


async def _incident_action(request: Request, user: SignedIn, integration_id: int, incident_id: str, act: str) -> Response:
    await checked_form(request, user)
    rt = runtime(request)
    row = await api.integration_row(rt, integration_id)
    page = f"/console/integrations/{integration_id}/incidents/{quote(incident_id, safe='')}"
    try:
        if act == "retry":
            await api.retry_failed(rt, row, incident_id)
            log.info("console: %s retried incident %s of integration %d", user.username, incident_id, integration_id)
            notice = "Retry queued: the page updates as the sync goes."
        else:
            await api.request_sync(rt, row, incident_id)
            log.info("console: %s asked to sync incident %s of integration %d", user.username, incident_id, integration_id)
            notice = "Sync queued: the page updates as the sync goes."
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        return see_other(f"{page}?{urlencode({'error': str(exc.detail)})}")
    return see_other(f"{page}?{urlencode({'notice': notice})}")
