"""Console pages for signing in and for watching and acting: integrations, incidents, timelines.

Each page reads through the same application services as the REST API (`app/`), so the
console shows exactly what the API would answer.
"""
from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ..app.accounts import SESSION_IDLE_SECONDS, SignedIn, same_secret
from ..app.errors import Conflict
from ..app.models import IncidentDetail, RowId
from ..domain.conditions import format_conditions
from ..domain.trigger import COMMENT_SKIPPED, NO_APP_KEY
from .auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, accounts, checked_form, signed_in
from .secret_flash import SHOWN_FOR_SECONDS, NewSecret, connect_path, recall, remember
from .templating import is_partial, render, runtime

log = logging.getLogger(__name__)  # who changed what: the console's audit trail
router = APIRouter(prefix="/console", include_in_schema=False)
User = Annotated[SignedIn, Depends(signed_in)]
PAGE_SIZE = 50
# what happened to each event received (events.outcome), in words
OUTCOME_WORDS = {
    "queued": "queued for Jira",
    "stored": "stored (the trigger did not fire)",
    "out_of_channel_scope": "outside the integration's channels: ignored",
    COMMENT_SKIPPED: f"queued for Jira, comment skipped: {NO_APP_KEY}",
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

    if not cookie or not isinstance(presented, str) or not same_secret(cookie, presented):
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
    items = await runtime(request).integrations.list()
    return render(request, "integrations.html", items=items, notice=notice)


@router.get("/integrations/{integration_id}")
async def integration_page(
    request: Request, user: User, integration_id: RowId, state: str = "", q: str = "", before: RowId | None = None,
    notice: str = "",
) -> Response:
    return await _integration(request, integration_id, state=state, q=q, before=before, notice=notice)


@router.post("/integrations/{integration_id}/check")
async def check_integration(request: Request, user: User, integration_id: RowId) -> Response:
    """"Check connection": the same check as `jira-sync integrations check` and the API's, shown in place."""
    await checked_form(request, user)
    report = await runtime(request).integrations.recheck(integration_id)
    log.info("console: %s checked integration %d against Jira: %s", user.username, integration_id,
             "ok" if report.ok else "failed")
    check = report.as_dict()
    if is_partial(request) and request.headers.get("x-console-target") == "#check-result":
        return render(request, "_check.html", check=check)
    return await _integration(request, integration_id, check=check)


async def _integration(request: Request, integration_id: int, *, state: str = "", q: str = "",
                       before: int | None = None, notice: str = "", check: dict[str, Any] | None = None) -> Response:
    rt = runtime(request)
    it = await rt.integrations.view(integration_id)
    state = state if state in ("idle", "pending", "failed") else ""
    page = await rt.incidents.page(integration_id, state=state or None, before=before, limit=PAGE_SIZE,
                                   incident_id=q.strip() or None)
    base = f"/console/integrations/{integration_id}"
    params = {k: v for k, v in (("state", state), ("q", q.strip())) if v}
    next_url = f"{base}?{urlencode({**params, 'before': page.next_before})}" if page.next_before else None
    first_url = f"{base}?{urlencode(params)}" if before else None
    context = dict(it=it, incidents=page.items, state=state, q=q, next_url=next_url, first_page_url=first_url,
                   notice=notice, conditions_text=format_conditions(it.config.get("conditions")), check=check,
                   channel_names=await _channel_names(rt, integration_id, it.config.get("channels")),
                   recovery=await rt.recovery.status(integration_id), two_way=await rt.two_way.status(integration_id))
    return render(request, "integration.html", **context)


async def _channel_names(rt: Any, integration_id: int, channels: Any) -> dict[int, str]:
    """Names for the chosen channel ids, from recent incidents (the page refreshes itself: only
    looked up when channels are chosen at all)."""
    if not channels:
        return {}
    return {c["id"]: c["name"] for c in await rt.integrations.seen_channels(integration_id)}


@router.post("/integrations/{integration_id}/enable")
async def enable(request: Request, user: User, integration_id: RowId) -> Response:
    return await _switch(request, user, integration_id, "enable")


@router.post("/integrations/{integration_id}/disable")
async def disable(request: Request, user: User, integration_id: RowId) -> Response:
    return await _switch(request, user, integration_id, "disable")


async def _switch(request: Request, user: SignedIn, integration_id: int, switch: str) -> Response:
    await checked_form(request, user)
    await runtime(request).integrations.set_enabled(integration_id, switch == "enable")
    log.info("console: %s %sd integration %d", user.username, switch, integration_id)
    back = request.headers.get("referer", "")
    target = f"/console/integrations/{integration_id}" if f"/integrations/{integration_id}" in back else "/console/"
    return see_other(f"{target}?{urlencode({'notice': f'Integration {switch}d.'})}")


@router.post("/integrations/{integration_id}/recovery")
async def run_recovery(request: Request, user: User, integration_id: RowId) -> Response:
    await checked_form(request, user)
    try:
        await runtime(request).recovery.run_now(integration_id)
    except Conflict as exc:
        notice = str(exc)
    else:
        log.info("console: %s asked for a recovery run of integration %d", user.username, integration_id)
        notice = "Recovery run started: the page shows its result when it ends."
    return see_other(f"/console/integrations/{integration_id}?{urlencode({'notice': notice})}")


@router.post("/integrations/{integration_id}/retry-failed")
async def retry_all_failed(request: Request, user: User, integration_id: RowId) -> Response:
    await checked_form(request, user)
    done = await runtime(request).incidents.retry_all_failed(integration_id)
    log.info("console: %s retried all %d failed incidents of integration %d", user.username, done.retried,
             integration_id)
    notice = f"{done.retried} failed incident{'s' if done.retried != 1 else ''} queued again."
    return see_other(f"/console/integrations/{integration_id}?{urlencode({'notice': notice})}")


@router.get("/integrations/{integration_id}/delete")
async def confirm_delete(request: Request, user: User, integration_id: RowId) -> Response:
    svc = runtime(request).integrations
    row = await svc.row(integration_id)
    return render(request, "confirm_delete.html", id=row.id, name=row.name, incidents=await svc.incident_count(row.id))


@router.post("/integrations/{integration_id}/delete")
async def delete(request: Request, user: User, integration_id: RowId) -> Response:
    await checked_form(request, user)
    svc = runtime(request).integrations
    row = await svc.row(integration_id)
    await svc.delete(integration_id)
    log.info("console: %s deleted integration %d (%s)", user.username, integration_id, row.name)
    return see_other(f"/console/?{urlencode({'notice': f'Integration {row.name!r} deleted.'})}")


@router.post("/integrations/{integration_id}/webhook-secret")
async def rotate_secret(request: Request, user: User, integration_id: RowId) -> Response:
    await checked_form(request, user)
    webhook = await runtime(request).integrations.rotate_webhook_secret(integration_id)
    log.info("console: %s made a new webhook secret for integration %d", user.username, integration_id)
    # shown on a page of its own (POST -> redirect -> GET): a refresh shows it again, never makes another
    response = see_other(connect_path(integration_id))
    remember(request, response, user, integration_id, NewSecret(webhook.secret or "", "rotate"))
    return response


@router.get("/integrations/{integration_id}/connect")
async def connect_page(request: Request, user: User, integration_id: RowId) -> Response:
    """The webhook to paste into Flashduty, with the secret while it is fresh (`secret_flash.py`)."""
    svc = runtime(request).integrations
    row = await svc.row(integration_id)
    shown = recall(request, user, integration_id)
    minutes = SHOWN_FOR_SECONDS // 60
    webhook = svc.webhook_info(integration_id, shown.secret if shown else None, row.previous_secret_until)
    if shown is None:
        heading, message = "Connect Flashduty", ""
    elif shown.made_by == "rotate":
        heading = "New webhook secret"
        old = ("The old secret keeps working until the time shown below; update the header value in Flashduty "
               "before then." if webhook.previous_secret_valid_until else
               "The old secret no longer works. Update the header value in Flashduty now.")
        message = f"{old} This page shows the new one for {minutes} minutes, then never again."
    else:
        heading = "Integration saved"
        message = (f"Checked against Jira and saved. Now tell Flashduty where to send incidents (the secret is "
                   f"shown on this page for {minutes} minutes, then never again):")
    return render(request, "saved.html", heading=heading, name=row.name, integration_id=row.id, message=message,
                  webhook=webhook, trigger=row.config["trigger"], warnings=shown.warnings if shown else [])


# ------------------------------------------------------------------ one incident
def _timeline(detail: IncidentDetail) -> list[dict[str, Any]]:
    entries = [{"kind": "event", "at": e.received_at, **e.model_dump()} for e in detail.events]
    entries += [{"kind": "exchange", **x.model_dump()} for x in detail.history]
    # two-way sync: what Jira told us and what it did in Flashduty (or why not)
    entries += [{**j.model_dump(), "event": j.kind, "kind": "jira", "at": j.received_at} for j in detail.jira_events]
    return sorted(entries, key=lambda e: e["at"])


@router.get("/integrations/{integration_id}/incidents/{incident_id:path}")
async def incident_page(request: Request, user: User, integration_id: RowId, incident_id: str,
                        notice: str = "", error: str = "") -> Response:
    rt = runtime(request)
    row = await rt.integrations.row(integration_id)
    detail = await rt.incidents.detail(integration_id, incident_id)
    it = {"id": row.id, "name": row.name, "config": row.config}
    note = f"Events and Jira exchanges are kept {rt.settings.history_days:g} days."
    return render(request, "incident.html", it=it, inc=detail, timeline=_timeline(detail), notice=notice, error=error,
                  history_note=note, outcome_words=OUTCOME_WORDS)


@router.post("/integrations/{integration_id}/incidents/{incident_id:path}/sync")
async def sync_incident(request: Request, user: User, integration_id: RowId, incident_id: str) -> Response:
    return await _incident_action(request, user, integration_id, incident_id, "sync")


@router.post("/integrations/{integration_id}/incidents/{incident_id:path}/retry")
async def retry_incident(request: Request, user: User, integration_id: RowId, incident_id: str) -> Response:
    return await _incident_action(request, user, integration_id, incident_id, "retry")


@router.post("/integrations/{integration_id}/incidents/{incident_id:path}/new-issue")
async def new_issue(request: Request, user: User, integration_id: RowId, incident_id: str) -> Response:
    return await _incident_action(request, user, integration_id, incident_id, "new-issue")


async def _incident_action(request: Request, user: SignedIn, integration_id: int, incident_id: str, act: str) -> Response:
    await checked_form(request, user)
    svc = runtime(request).incidents
    page = f"/console/integrations/{integration_id}/incidents/{quote(incident_id, safe='')}"
    try:
        if act == "new-issue":
            await svc.new_issue(integration_id, incident_id)
            log.info("console: %s asked for a new Jira issue for incident %s of integration %d (the linked one "
                     "was deleted)", user.username, incident_id, integration_id)
            notice = "New issue queued: the page updates as the sync goes."
        elif act == "retry":
            await svc.retry(integration_id, incident_id)
            log.info("console: %s retried incident %s of integration %d", user.username, incident_id, integration_id)
            notice = "Retry queued: the page updates as the sync goes."
        else:
            await svc.request_sync(integration_id, incident_id)
            log.info("console: %s asked to sync incident %s of integration %d", user.username, incident_id, integration_id)
            notice = "Sync queued: the page updates as the sync goes."
    except Conflict as exc:
        return see_other(f"{page}?{urlencode({'error': str(exc)})}")
    return see_other(f"{page}?{urlencode({'notice': notice})}")
