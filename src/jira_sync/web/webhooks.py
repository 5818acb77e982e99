"""POST /webhooks/flashduty/{integration_id}: Flashduty's Incident Webhook and Custom Action.

Flashduty signs nothing (flashduty.md §1): the integration's secret comes in the
`X-Jira-Sync-Secret` header (set it as a custom header in Flashduty), or as `?secret=`
in the URL for senders that cannot set headers.

POST /webhooks/jira/{integration_id}: Jira's admin webhooks for two-way sync
(`sync/jira_intake.py`): signed with X-Hub-Signature, or the secret in the URL.
"""
from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..app.models import SECRET_HEADER, ErrorAnswer, JiraWebhookAnswer, RowId, WebhookAnswer, WebhookRefusal
from ..observe import logs, tracing

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
ROUTE = "/webhooks/flashduty/{integration_id}"


@router.post(
    "/webhooks/flashduty/{integration_id}",
    summary="Receive a Flashduty incident event",
    response_model=WebhookAnswer,
    responses={
        200: {"description": "stored completely (or a duplicate); `repaired` says what odd text was made storable"},
        **{code: {"model": WebhookRefusal, "description": what} for code, what in (
            (400, "not a Flashduty event we can store: `message` says why; nothing was stored"),
            (401, "missing or wrong webhook secret, or no such integration"),
            (413, "body larger than MAX_BODY_BYTES"), (415, "not application/json"),
            (503, "the database is unavailable; nothing was stored"))},
        408: {"model": ErrorAnswer, "description": "the body did not arrive within BODY_TIMEOUT"},
        422: {"model": ErrorAnswer, "description": "the integration id in the path is not a valid id"},
    },
)
async def flashduty_webhook(integration_id: RowId, request: Request) -> JSONResponse:
    started = time.perf_counter()
    with tracing.server_span(ROUTE, **{"jira_sync.integration": integration_id}) as span:
        status, body = await _receive(integration_id, request)
        tracing.set_status(span, status)
    # one line per delivery: what came and what it got (never the secret, nor the body)
    log.info("webhook %s", body.get("status") or body.get("error"), extra=logs.fields(
        integration=integration_id, http_status=status, event_id=body.get("event_id"),
        incident=body.get("incident_id"), sync=body.get("sync"), message=body.get("message"),
        duration_ms=round((time.perf_counter() - started) * 1000, 2)))
    return JSONResponse(body, status_code=status)


async def _receive(integration_id: int, request: Request) -> tuple[int, dict]:  # type: ignore[type-arg]
    runtime = request.app.state.runtime
    body = await _body(request, runtime.settings.max_body_bytes)
    if isinstance(body, tuple):  # refused before the secret is looked at: counted under the id only if it exists
        metrics = runtime.metrics
        metrics.webhook(metrics.integration_label(integration_id), "rejected", body[1]["error"])
        return body
    secret = request.headers.get(SECRET_HEADER) or request.query_params.get("secret")
    result = await runtime.ingestor.ingest(integration_id, secret, body)
    return result.status, result.body


@router.post(
    "/webhooks/jira/{integration_id}",
    summary="Receive a Jira admin webhook (two-way sync)",
    response_model=JiraWebhookAnswer,
    responses={
        200: {"description": "stored (or a duplicate, or not about a linked issue); the incident is queued"},
        **{code: {"model": WebhookRefusal, "description": what} for code, what in (
            (400, "not JSON: nothing was stored"),
            (401, "no valid X-Hub-Signature and no valid ?secret=, or no such integration"),
            (413, "body larger than MAX_BODY_BYTES"), (415, "not application/json"),
            (503, "the database is unavailable; nothing was stored (Jira Cloud retries)"))},
        408: {"model": ErrorAnswer, "description": "the body did not arrive within BODY_TIMEOUT"},
        422: {"model": ErrorAnswer, "description": "the integration id in the path is not a valid id"},
    },
)
async def jira_webhook(integration_id: RowId, request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    body = await _body(request, runtime.settings.max_body_bytes)
    if isinstance(body, tuple):
        return JSONResponse(body[1], status_code=body[0])
    result = await runtime.jira_intake.ingest(
        integration_id, body, signature=request.headers.get("x-hub-signature"),
        url_secret=request.query_params.get("secret"),
        identifier=request.headers.get("x-atlassian-webhook-identifier"))
    return JSONResponse(result.body, status_code=result.status)


async def _body(request: Request, limit: int) -> bytes | tuple[int, dict]:  # type: ignore[type-arg]
    """The raw body (a signature covers its exact bytes), or the refusal (status, answer)."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        return _error(415, "unsupported_media_type", f"Content-Type must be application/json, got {ctype or 'none'!r}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _error(413, "too_large", f"body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _error(413, "too_large", f"body is larger than {limit} bytes")
    return bytes(body)


def _error(status: int, code: str, message: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    return status, {"error": code, "message": message}
