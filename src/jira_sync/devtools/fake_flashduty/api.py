"""The fake's Open API: `POST /incident/feed` and `POST /person/infos`, in Flashduty's envelope.

Shapes follow docs.flashcat.cloud's incident-feed page and flashcatcloud/flashduty-sdk:
`{"request_id", "data": {...}}` on success, `{"request_id", "error": {"code", "message"}}`
on failure; the app key is the `app_key` query parameter (flashduty.md §3).
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from jira_sync.devtools.fake_flashduty.state import FakeFlashduty

_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def build_app(fake: FakeFlashduty) -> Starlette:
    async def feed(request: Request) -> Response:
        early, body = await _admit(fake, request)
        if early is not None:
            return early
        iid, p, limit = body.get("incident_id"), body.get("p", 1), body.get("limit", 20)
        if not isinstance(iid, str) or not _OBJECT_ID.match(iid):
            return _error(400, "InvalidParameter", "incident_id must be a 24-hex ObjectID")
        if not _int_in(p, 1, 10**6) or not _int_in(limit, 1, 100):
            return _error(400, "InvalidParameter", "p must be >= 1 and limit in 1..100")
        with fake.lock:
            if iid not in fake.timelines:
                return _error(404, "ResourceNotFound", f"incident {iid} not found")
            entries = list(fake.timelines[iid])  # appended in time order
        if body.get("asc") is not True:  # newest first unless asked (the API's default)
            entries.reverse()
        types = body.get("types")
        if isinstance(types, list) and types:
            entries = [e for e in entries if isinstance(e, dict) and e.get("type") in types]
        page = entries[(p - 1) * limit : p * limit]
        return _ok({"items": page, "has_next_page": p * limit < len(entries)})

    async def person_infos(request: Request) -> Response:
        early, body = await _admit(fake, request)
        if early is not None:
            return early
        wanted = body.get("person_ids")
        if not isinstance(wanted, list):
            return _error(400, "InvalidParameter", "person_ids must be a list")
        with fake.lock:
            items = [dict(p) for p in fake.persons.values() if p["person_id"] in wanted]
        return _ok({"items": items})

    return Starlette(routes=[
        Route("/incident/feed", feed, methods=["POST"]),
        Route("/person/infos", person_infos, methods=["POST"]),
    ])


async def _admit(fake: FakeFlashduty, request: Request) -> tuple[Response | None, dict[str, Any]]:
    """Record the request, play an injected fault, check the key and the JSON body."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    with fake.lock:
        fake.requests.append({"path": request.url.path, "query": dict(request.query_params),
                              "body": body})
        fault = next((f for f in fake.faults if f.path in (None, request.url.path)), None)
        if fault is not None:
            fake.faults.remove(fault)
        key = fake.app_key
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.body is not None:
            return Response(fault.body, fault.status, fault.headers, "application/json"), {}
        return _error(fault.status, fault.code, fault.message, fault.headers), {}
    if request.query_params.get("app_key") != key:
        return _error(401, "Unauthorized", "app_key is invalid or missing"), {}
    if not isinstance(body, dict):
        return _error(400, "InvalidParameter", "the body must be a JSON object"), {}
    return None, body


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _ok(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"request_id": secrets.token_hex(13).upper(), "data": data})


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"request_id": secrets.token_hex(13).upper(), "error": {"code": code, "message": message}},
        status_code=status, headers=headers,
    )
