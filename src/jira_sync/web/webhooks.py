"""POST /webhooks/flashduty/{integration_id}: Flashduty's Incident Webhook and Custom Action.

Flashduty signs nothing (flashduty.md §1): the integration's secret comes in the
`X-Jira-Sync-Secret` header (set it as a custom header in Flashduty), or as `?secret=`
in the URL for senders that cannot set headers.

The route is served twice over, with the same answers: `WebhookFastPath`, a plain ASGI
middleware, takes every well-formed delivery before FastAPI's routing, dependency solving
and Request objects (profiled at about half of a webhook's CPU under a storm); the FastAPI
route below documents it in OpenAPI and answers what the fast path passes on (an id that is
not a valid row id gets FastAPI's own 422, another method its 405).
"""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Callable
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..app.models import MAX_ROW_ID, SECRET_HEADER, ErrorAnswer, RowId, WebhookAnswer, WebhookRefusal

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])


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
    runtime = request.app.state.runtime
    limit = runtime.settings.max_body_bytes
    refusal = refuse_headers(request.headers.get("content-type", ""), request.headers.get("content-length"), limit)
    if refusal is not None:
        return JSONResponse(refusal[1], status_code=refusal[0])
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return JSONResponse(_too_large(limit), status_code=413)
    secret = request.headers.get(SECRET_HEADER) or request.query_params.get("secret")
    result = await runtime.ingestor.ingest(integration_id, secret, bytes(body))
    return JSONResponse(result.body, status_code=result.status)


def refuse_headers(ctype: str, declared: str | None, limit: int) -> tuple[int, dict[str, str]] | None:
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
    """One delivery, start to end; an unexpected error is logged and answered 500 (as
    Starlette's ServerErrorMiddleware would), never left to the server."""
    started = False

    async def tracked(message: dict[str, Any]) -> None:
        nonlocal started
        started = True
        await send(message)

    try:
        await _webhook(integration_id, scope, receive, tracked)
    except Exception:
        log.exception("POST %s failed", scope["path"])
        if not started:
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"Internal Server Error"})


async def _webhook(integration_id: int, scope: dict[str, Any], receive: Any, send: Any) -> None:
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
        return await _answer(send, *refusal)
    body = bytearray()
    try:
        async with asyncio.timeout(settings.body_timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    log.info("POST %s: the client went away before its body was complete (client %s)",
                             scope["path"], _client(scope))
                    return await _answer(send, 400, {"detail": "the request body was not complete"})
                body += message.get("body", b"")
                if len(body) > limit:
                    return await _answer(send, 413, _too_large(limit))
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        detail = f"the request body did not arrive within {settings.body_timeout:g} s"
        log.warning("POST %s: %s (client %s); connection closed", scope["path"], detail, _client(scope))
        return await _answer(send, 408, {"detail": detail}, close=True)
    if not secret and scope["query_string"]:
        # as Starlette's query_params.get: the last value given
        found = [v for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                 if k == "secret"]
        secret = found[-1] if found else None
    result = await runtime.ingestor.ingest(integration_id, secret, bytes(body))
    await _answer(send, result.status, result.body)


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
