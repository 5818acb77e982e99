"""POST /webhooks/flashduty/{integration_id}: Flashduty's Incident Webhook and Custom Action.

Flashduty signs nothing (flashduty.md §1): the integration's secret comes in the
`X-Jira-Sync-Secret` header (set it as a custom header in Flashduty), or as `?secret=`
in the URL for senders that cannot set headers.
"""
from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..app.models import SECRET_HEADER, ErrorAnswer, RowId, WebhookAnswer, WebhookRefusal
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
    limit = runtime.settings.max_body_bytes
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        return _refused(runtime, integration_id, 415, "unsupported_media_type",
                        f"Content-Type must be application/json, got {ctype or 'none'!r}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _refused(runtime, integration_id, 413, "too_large", f"body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _refused(runtime, integration_id, 413, "too_large", f"body is larger than {limit} bytes")
    secret = request.headers.get(SECRET_HEADER) or request.query_params.get("secret")
    result = await runtime.ingestor.ingest(integration_id, secret, bytes(body))
    return result.status, result.body


def _refused(runtime, integration_id: int, status: int, code: str, message: str) -> tuple[int, dict]:  # type: ignore[no-untyped-def,type-arg]
    """Refused before the secret is looked at: counted under the id only if an integration has it."""
    metrics = runtime.metrics
    metrics.webhook(metrics.integration_label(integration_id), "rejected", code)
    return status, {"error": code, "message": message}
