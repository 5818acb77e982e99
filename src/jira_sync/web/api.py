"""The REST API under /api (admin token required). Routes parse, call one service, map errors."""
from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from ..bootstrap import Runtime
from ..domain.conditions import ConditionError
from ..domain.integration import IntegrationConfig
from ..store import integrations as integration_store
from ..store import queue
from ..store.db import write
from ..store.tables import events, exchanges, incidents
from ..sync.admin import CheckFailed, Conflict, NotFound, Saved
from .webhooks import SECRET_HEADER

bearer = HTTPBearer(auto_error=False)


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def require_admin(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    expected = runtime(request).settings.admin_token.get_secret_value()
    if creds is None or not hmac.compare_digest(creds.credentials.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong admin token", headers={"WWW-Authenticate": "Bearer"})


RT = Annotated[Runtime, Depends(runtime)]
router = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])


# ------------------------------------------------------------------ integrations
def webhook_info(rt: Runtime, integration_id: int, secret: str | None) -> dict[str, Any]:
    url = f"{rt.settings.base_url}/webhooks/flashduty/{integration_id}"
    info: dict[str, Any] = {"url": url, "header": SECRET_HEADER}
    if secret is not None:
        info["secret"] = secret  # shown once; stored only as a hash
        info["url_with_secret"] = f"{url}?secret={secret}"
    return info


async def integration_out(rt: Runtime, row: Any, secret: str | None = None) -> dict[str, Any]:
    async with rt.engine.connect() as conn:
        summary = await integration_store.summary(conn, row.id)
    return {
        "id": row.id,
        "name": row.name,
        "enabled": row.enabled,
        "config": row.config,  # no secrets: stored apart, encrypted
        "jira_meta": row.jira_meta,
        "webhook": webhook_info(rt, row.id, secret),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        **summary,
    }


async def integration_row(rt: Runtime, integration_id: int) -> Any:
    async with rt.engine.connect() as conn:
        row = await integration_store.get_row(conn, integration_id)
    if row is None:
        raise HTTPException(404, f"integration {integration_id} not found")
    return row


async def _saved(rt: Runtime, saved: Saved) -> dict[str, Any]:
    out = await integration_out(rt, await integration_row(rt, saved.id), saved.webhook_secret)
    out["check"] = saved.report.as_dict()
    return out


def service_error_handlers() -> dict[type[Exception], Any]:
    """The admin service's errors as HTTP answers (installed on the app, so routes stay thin)."""

    def respond(status: int, body: Any) -> JSONResponse:
        return JSONResponse({"detail": body}, status_code=status)

    def invalid(_req: Any, exc: Any) -> JSONResponse:
        # Without "input": a rejected integration body carries credentials, never echo them.
        return respond(422, [{k: v for k, v in e.items() if k not in ("input", "ctx", "url")} for e in exc.errors()])

    return {
        RequestValidationError: invalid,
        ValidationError: invalid,
        CheckFailed: lambda _req, exc: respond(422, {"error": "check_failed", **exc.report.as_dict()}),
        NotFound: lambda _req, exc: respond(404, str(exc)),
        Conflict: lambda _req, exc: respond(409, str(exc)),
        ConditionError: lambda _req, exc: respond(422, f"conditions: {exc}"),
    }


@router.get("/integrations", tags=["integrations"])
async def list_integrations(rt: RT) -> list[dict[str, Any]]:
    async with rt.engine.connect() as conn:
        rows = await integration_store.list_rows(conn)
    return [await integration_out(rt, r) for r in rows]


@router.post("/integrations", status_code=201, tags=["integrations"])
async def create_integration(rt: RT, config: IntegrationConfig, check: bool = True) -> dict[str, Any]:
    """Create an integration. The answer carries the webhook secret, once."""
    saved = await rt.admin.create(config, check=check)
    return await _saved(rt, saved)


@router.get("/integrations/{integration_id}", tags=["integrations"])
async def get_integration(rt: RT, integration_id: int) -> dict[str, Any]:
    return await integration_out(rt, await integration_row(rt, integration_id))


@router.put("/integrations/{integration_id}", tags=["integrations"])
async def update_integration(
    rt: RT, integration_id: int, changes: Annotated[dict[str, Any], Body()], check: bool = True
) -> dict[str, Any]:
    """Replace some or all of the configuration. Secrets left out keep their stored values."""
    saved = await rt.admin.update(integration_id, changes, check=check)
    return await _saved(rt, saved)


@router.delete("/integrations/{integration_id}", status_code=204, tags=["integrations"])
async def delete_integration(rt: RT, integration_id: int) -> None:
    await rt.admin.delete(integration_id)


@router.post("/integrations/{integration_id}/enable", tags=["integrations"])
async def enable_integration(rt: RT, integration_id: int) -> dict[str, Any]:
    return await _set_enabled(rt, integration_id, True)


@router.post("/integrations/{integration_id}/disable", tags=["integrations"])
async def disable_integration(rt: RT, integration_id: int) -> dict[str, Any]:
    return await _set_enabled(rt, integration_id, False)


async def _set_enabled(rt: Runtime, integration_id: int, enabled: bool) -> dict[str, Any]:
    await rt.admin.set_enabled(integration_id, enabled)
    if enabled:
        rt.wake.set()  # incidents that waited while disabled
    return await integration_out(rt, await integration_row(rt, integration_id))


@router.post("/integrations/{integration_id}/check", tags=["integrations"])
async def check_integration(rt: RT, integration_id: int) -> dict[str, Any]:
    """Check the stored configuration against Jira again (and refresh the cached metadata)."""
    report = await rt.admin.recheck(integration_id)
    return report.as_dict()


@router.post("/integrations/{integration_id}/webhook-secret", tags=["integrations"])
async def rotate_webhook_secret(rt: RT, integration_id: int) -> dict[str, Any]:
    """Generate a new webhook secret (the old one stops working at once)."""
    secret = await rt.admin.rotate_webhook_secret(integration_id)
    return webhook_info(rt, integration_id, secret)


# ------------------------------------------------------------------ incidents
def browse_url(row: Any, jira_url: str) -> str | None:
    return f"{jira_url}/browse/{row['jira_issue_key']}" if row["jira_issue_key"] else None


def incident_out(row: Any, jira_url: str) -> dict[str, Any]:
    in_flight = row["state"] == "pending" and row["lease_until"] is not None
    return {
        "incident_id": row["incident_id"],
        "title": row["title"],
        "severity": row["severity"],
        "progress": row["progress"],
        "activated": row["activated"],
        "state": "in_flight" if in_flight else row["state"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "next_attempt_at": row["due_at"] if row["state"] == "pending" else None,
        "jira": {
            "issue_id": row["jira_issue_id"],
            "key": row["jira_issue_key"],
            "browse_url": browse_url(row, jira_url),
            "status": row["jira_status"],
            "priority_id": row["jira_priority_id"],
            "create_state": row["create_state"],
        },
        "last_synced_at": row["last_synced_at"],
        "updated_at": row["updated_at"],
    }


async def incident_page(
    rt: Runtime, integ: Any, *, state: str | None = None, before: int | None = None, limit: int = 50,
    incident_id: str | None = None,
) -> dict[str, Any]:
    """One page of an integration's incidents, newest first (keyset: fast at any depth)."""
    c = incidents.c
    q = sa.select(incidents).where(c.integration_id == integ.id)
    if state:
        q = q.where(c.state == state)
    if incident_id:
        q = q.where(c.incident_id == incident_id)
    if before:
        q = q.where(c.id < before)
    q = q.order_by(c.id.desc()).limit(limit)
    async with rt.engine.connect() as conn:
        rows = list((await conn.execute(q)).mappings())
    jira_url = integ.config["jira"]["url"]
    return {
        "items": [incident_out(r, jira_url) for r in rows],
        "next_before": rows[-1]["id"] if len(rows) == limit else None,
    }


@router.get("/integrations/{integration_id}/incidents", tags=["incidents"])
async def list_incidents(
    rt: RT,
    integration_id: int,
    state: Literal["idle", "pending", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(description="cursor: `next_before` of the previous page")] = None,
) -> dict[str, Any]:
    """Newest first, keyset-paginated (fast at any depth)."""
    return await incident_page(rt, await integration_row(rt, integration_id), state=state, before=before, limit=limit)


async def _incident(rt: Runtime, integration_id: int, incident_id: str) -> Any:
    c = incidents.c
    async with rt.engine.connect() as conn:
        found = (
            await conn.execute(sa.select(incidents).where(c.integration_id == integration_id, c.incident_id == incident_id))
        ).mappings().first()
    if found is None:
        raise HTTPException(404, f"no event received yet for incident {incident_id} in integration {integration_id}")
    return found


async def incident_detail(rt: Runtime, integ: Any, incident_id: str) -> dict[str, Any]:
    """An incident with its snapshot, the events received and every Jira exchange (secrets removed)."""
    row = await _incident(rt, integ.id, incident_id)
    async with rt.engine.connect() as conn:
        evs = (
            await conn.execute(
                sa.select(events.c.event_id, events.c.event_type, events.c.event_time, events.c.received_at, events.c.outcome)
                .where(events.c.integration_id == integ.id, events.c.incident_id == incident_id)
                .order_by(events.c.id)
            )
        ).mappings()
        exs = (
            await conn.execute(
                sa.select(exchanges).where(exchanges.c.incident_row_id == row["id"]).order_by(exchanges.c.id)
            )
        ).mappings()
        out = incident_out(row, integ.config["jira"]["url"])
        out["snapshot"] = row["snapshot"]
        out["events"] = [dict(e) for e in evs]
        out["history"] = [{k: v for k, v in dict(x).items() if k != "incident_row_id"} for x in exs]
    return out


@router.get("/integrations/{integration_id}/incidents/{incident_id}", tags=["incidents"])
async def get_incident(rt: RT, integration_id: int, incident_id: str) -> dict[str, Any]:
    """The Jira link, the events received and every Jira request with its answer."""
    return await incident_detail(rt, await integration_row(rt, integration_id), incident_id)


async def request_sync(rt: Runtime, integ: Any, incident_id: str) -> dict[str, Any]:
    await _incident(rt, integ.id, incident_id)
    rt.changes.notify(integ.id)  # a person acting now expects the configuration as it is now
    async with write(rt.engine) as conn:
        row = await queue.request_sync(conn, integ.id, incident_id)
    rt.wake.set()
    return incident_out(row, integ.config["jira"]["url"])


async def retry_failed(rt: Runtime, integ: Any, incident_id: str) -> dict[str, Any]:
    await _incident(rt, integ.id, incident_id)
    rt.changes.notify(integ.id)  # the fix may have been made elsewhere (e.g. the CLI)
    async with write(rt.engine) as conn:
        row = await queue.retry_failed(conn, integ.id, incident_id)
    if row is None:
        raise HTTPException(409, "incident is not in the failed state")
    rt.wake.set()
    return incident_out(row, integ.config["jira"]["url"])


@router.post("/integrations/{integration_id}/incidents/{incident_id}/sync", tags=["incidents"])
async def sync_incident(rt: RT, integration_id: int, incident_id: str) -> dict[str, Any]:
    """The manual trigger: sync this incident to Jira now (its latest snapshot)."""
    return await request_sync(rt, await integration_row(rt, integration_id), incident_id)


@router.post("/integrations/{integration_id}/incidents/{incident_id}/retry", tags=["incidents"])
async def retry_incident(rt: RT, integration_id: int, incident_id: str) -> dict[str, Any]:
    """Try a failed incident again (after fixing what its last_error says)."""
    return await retry_failed(rt, await integration_row(rt, integration_id), incident_id)


# ------------------------------------------------------------------ queue
@router.get("/queue", tags=["queue"])
async def queue_status(rt: RT, integration_id: int | None = None) -> dict[str, Any]:
    async with rt.engine.connect() as conn:
        return await queue.queue_stats(conn, integration_id)
