"""POST /webhooks/flashduty/{integration_id}: Flashduty's Incident Webhook and Custom Action.

Flashduty signs nothing (flashduty.md §1): the integration's secret comes in the
`X-Jira-Sync-Secret` header (set it as a custom header in Flashduty), or as `?secret=`
in the URL for senders that cannot set headers.

The route is served twice over, with the same answers: `WebhookFastPath`, a plain ASGI
middleware, takes every well-formed delivery before FastAPI's routing, dependency solving
and Request objects (profiled at about half of a webhook's CPU under a storm); the FastAPI
route below documents it in OpenAPI and answers what the fast path passes on (an id that is
not a valid row id gets FastAPI's own 422, another method its 405). Both count, trace and log
each delivery through `_observed`.

POST /webhooks/jira/{integration_id}: Jira's admin webhooks for two-way sync
(`sync/jira_intake.py`): signed with X-Hub-Signature, or the secret in the URL.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..app.models import (MAX_ROW_ID, SECRET_HEADER, ErrorAnswer, JiraWebhookAnswer, RowId, WebhookAnswer,
                          WebhookRefusal)
from ..observe import logs, tracing
from .context import bind_request_id

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
ROUTE = "/webhooks/flashduty/{integration_id}"
Answer = tuple[int, dict[str, Any]]


@router.post(
    ROUTE,
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
    status, body = await _observed(integration_id, lambda: _from_request(integration_id, request))
    return JSONResponse(body, status_code=status)


async def _from_request(integration_id: int, request: Request) -> Answer:
    runtime = request.app.state.runtime
    got = await _body(request, runtime.settings.max_body_bytes)
    if isinstance(got, tuple):
        return _refused(runtime, integration_id, got)
    secret = request.headers.get(SECRET_HEADER) or request.query_params.get("secret")
    result = await runtime.ingestor.ingest(integration_id, secret, got)
    return result.status, result.body


async def _observed(integration_id: int, receive: Callable[[], Awaitable[Answer]]) -> Answer:
    """A delivery in a trace span, then one log line: what came and what it got (never the
    secret, nor the body). The counters are kept where each outcome is decided (`sync/ingest.py`)."""
    started = time.perf_counter()
    with tracing.server_span(ROUTE, **{"jira_sync.integration": integration_id}) as span:
        status, body = await receive()
        tracing.set_status(span, status)
    log.info("webhook %s", body.get("status") or body.get("error") or status, extra=logs.fields(
        integration=integration_id, http_status=status, event_id=body.get("event_id"),
        incident=body.get("incident_id"), sync=body.get("sync"), message=body.get("message") or body.get("detail"),
        duration_ms=round((time.perf_counter() - started) * 1000, 2)))
    return status, body


def _refused(runtime: Any, integration_id: int, refusal: Answer) -> Answer:
    """Refused before the secret is looked at: counted under the id only if an integration has it."""
    metrics = runtime.metrics
    metrics.webhook(metrics.integration_label(integration_id), "rejected", refusal[1].get("error", "bad_request"))
    return refusal


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


async def _body(request: Request, limit: int) -> bytes | Answer:
    """The raw body (a signature covers its exact bytes), or the refusal (status, answer)."""
    refusal = refuse_headers(request.headers.get("content-type", ""), request.headers.get("content-length"), limit)
    if refusal is not None:
        return refusal
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return 413, _too_large(limit)
    return bytes(body)


def refuse_headers(ctype: str, declared: str | None, limit: int) -> Answer | None:
    """415 for a body that is not JSON, 413 for one declared too large; None when both are fine."""
    if ctype.split(";")[0].strip().lower() != "application/json":
        return 415, {"error": "unsupported_media_type",
                     "message": f"Content-Type must be application/json, got {ctype or 'none'!r}"}
    if declared and declared.isdigit() and int(declared) > limit:
        return 413, _too_large(limit)
    return None


def _too_large(limit: int) -> dict[str, str]:
    return {"error": "too_large", "message": f"body is larger than {limit} bytes"}


# ------------------------------------------------------------------ the fast path
_PATH = re.compile(r"/webhooks/flashduty/([1-9][0-9]{0,9})")
_SECRET_HEADER = SECRET_HEADER.lower().encode()
ASGIApp = Callable[..., Any]


class WebhookFastPath:
    """Pure ASGI middleware: POST /webhooks/flashduty/{valid row id} is answered here, with the
    route's rules (content type, size, BODY_TIMEOUT, secret from header or query) and answers;
    everything else goes on to FastAPI. Added outside `BodyDeadline`, so the body deadline is
    kept here (the same setting, the same 408 and log line)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        integration_id = webhook_target(scope)
        if integration_id is None:
            return await self.app(scope, receive, send)
        await serve_webhook(integration_id, scope, receive, send)


def webhook_target(scope: dict[str, Any]) -> int | None:
    """The integration id when `scope` is a delivery the fast path takes, else None."""
    if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
        match = _PATH.fullmatch(scope["path"])
        if match is not None and int(match[1]) <= MAX_ROW_ID:
            return int(match[1])
    return None


async def serve_webhook(integration_id: int, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """One delivery, start to end, with its request id bound (it may come before the RequestIds
    middleware); an unexpected error is logged and answered 500 (as Starlette's
    ServerErrorMiddleware would), never left to the server."""
    token = bind_request_id(scope)
    try:
        status, body = await _observed(integration_id, lambda: _from_scope(integration_id, scope, receive))
    except Exception:
        log.exception("POST %s failed", scope["path"])
        await send({"type": "http.response.start", "status": 500,
                    "headers": [(b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})
        return
    finally:
        logs.reset(token)
    await _answer(send, status, body, close=status == 408)


async def _from_scope(integration_id: int, scope: dict[str, Any], receive: Any) -> Answer:
    runtime = scope["app"].state.runtime
    settings = runtime.settings
    limit = settings.max_body_bytes
    ctype = declared = secret = None
    for name, value in scope["headers"]:
        if name == b"content-type" and ctype is None:
            ctype = value.decode("latin-1")
        elif name == b"content-length" and declared is None:
            declared = value.decode("latin-1")
        elif name == _SECRET_HEADER and secret is None:
            secret = value.decode("latin-1")
    refusal = refuse_headers(ctype or "", declared, limit)
    if refusal is not None:
        return _refused(runtime, integration_id, refusal)
    body = bytearray()
    try:
        async with asyncio.timeout(settings.body_timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    log.info("POST %s: the client went away before its body was complete (client %s)",
                             scope["path"], _client(scope))
                    return 400, {"detail": "the request body was not complete"}
                body += message.get("body", b"")
                if len(body) > limit:
                    return _refused(runtime, integration_id, (413, _too_large(limit)))
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        detail = f"the request body did not arrive within {settings.body_timeout:g} s"
        log.warning("POST %s: %s (client %s); connection closed", scope["path"], detail, _client(scope))
        return 408, {"detail": detail}
    if not secret and scope["query_string"]:
        # as Starlette's query_params.get: the last value given
        found = [v for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                 if k == "secret"]
        secret = found[-1] if found else None
    result = await runtime.ingestor.ingest(integration_id, secret, bytes(body))
    return result.status, result.body


def _client(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "?"


async def _answer(send: Any, status: int, body: dict[str, Any], *, close: bool = False) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-length", str(len(data)).encode()), (b"content-type", b"application/json")]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
