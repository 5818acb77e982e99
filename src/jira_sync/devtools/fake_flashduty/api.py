"""The fake's Open API in Flashduty's envelope; the routes live in api_*.py by concern.

Spec facts (flashduty-docs `api-reference/*.openapi.en.json`, `en/openapi/*.mdx`): every call
is `POST <path>?app_key=KEY` with a JSON body; success is `{"request_id", "data"}`, failure
`{"request_id", "error": {"code", "message"}}`, the request id also in the
`Flashcat-Request-Id` header. Codes: `InvalidParameter` 400, `ResourceNotFound` 400 (not
404: "historical choice"), `Unauthorized` 401, `AccessDenied` 403 (the key's member lacks
the permission, e.g. "Incidents Manage" for writes), `RouteNotFound` 404 (unknown path),
`MethodNotAllowed` 405, `RequestTooFrequently` 429 (per account: 50 requests/second and
1,000/minute), `InternalError` 500.

Inferred: checks run in the order key (401), rate (429), permission (403), body (400);
only admitted requests count toward the rate; a 429 carries no Retry-After header unless
`settings.retry_after` is set (the spec documents none). Kept from the first version:
`/incident/feed` answers an unknown incident with 404 ResourceNotFound (tests pin it).
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from jira_sync.devtools.fake_flashduty.state import FakeFlashduty

OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


class Refused(Exception):
    """Raised by a handler's helpers: answer with this error envelope instead."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RateLimiter:
    """Sliding windows over admitted requests: one account, so one limiter per fake."""

    def __init__(self) -> None:
        self._hits: deque[float] = deque()

    def admit(self, per_second: int | None, per_minute: int | None) -> bool:
        now = time.monotonic()
        while self._hits and self._hits[0] <= now - 60:
            self._hits.popleft()
        if per_minute is not None and len(self._hits) >= per_minute:
            return False
        if per_second is not None:
            recent = 0
            for t in reversed(self._hits):  # newest first: stop at the first older than 1 s
                if t <= now - 1:
                    break
                recent += 1
            if recent >= per_second:
                return False
        self._hits.append(now)
        return True


def build_app(fake: FakeFlashduty) -> Starlette:
    from jira_sync.devtools.fake_flashduty import api_history, api_incidents, api_writes

    limiter = RateLimiter()

    async def feed(request: Request) -> Response:
        body, _ = await admit(fake, limiter, request)
        iid, p, limit = body.get("incident_id"), body.get("p", 1), body.get("limit", 20)
        if not isinstance(iid, str) or not OBJECT_ID.match(iid):
            raise Refused(400, "InvalidParameter", "incident_id must be a 24-hex ObjectID")
        if not int_in(p, 1, 10**6) or not int_in(limit, 1, 100):
            raise Refused(400, "InvalidParameter", "p must be >= 1 and limit in 1..100")
        with fake.lock:
            if iid not in fake.timelines:
                raise Refused(404, "ResourceNotFound", f"incident {iid} not found")
            entries = list(fake.timelines[iid])  # appended in time order
        if body.get("asc") is not True:  # newest first unless asked (the API's default)
            entries.reverse()
        types = body.get("types")
        if isinstance(types, list) and types:
            entries = [e for e in entries if isinstance(e, dict) and e.get("type") in types]
        page = entries[(p - 1) * limit : p * limit]
        return ok({"items": page, "has_next_page": p * limit < len(entries)})

    async def person_infos(request: Request) -> Response:
        body, _ = await admit(fake, limiter, request)
        wanted = body.get("person_ids")
        if not isinstance(wanted, list):
            raise Refused(400, "InvalidParameter", "person_ids must be a list")
        with fake.lock:
            items = [{"account_id": fake.account_id, **p, "as": "member", "status": "enabled",
                      "email_verified": True, "phone_verified": False}
                     for p in fake.persons.values() if p["person_id"] in wanted]
        return ok({"items": items})

    async def member_info(request: Request) -> Response:
        _, member = await admit(fake, limiter, request)
        who = fake.person(member)
        return ok({
            "account_id": fake.account_id, "account_name": fake.account_name,
            "account_locale": "en-US", "account_time_zone": "Asia/Shanghai",
            "account_role_ids": [6], "domain": "demo", "member_id": who["person_id"],
            "member_name": who["person_name"], "email": who["email"], "email_verified": True,
            "phone_verified": False, "is_external": False, "locale": "en-US",
            "time_zone": "Asia/Shanghai", "status": "enabled",
        })

    handlers: dict[str, Any] = {
        "/incident/feed": feed, "/person/infos": person_infos, "/member/info": member_info,
        **api_incidents.handlers(fake, limiter), **api_writes.handlers(fake, limiter),
        **api_history.handlers(fake, limiter),
    }
    return Starlette(
        routes=[Route(path, _guarded(h), methods=["POST"]) for path, h in handlers.items()],
        exception_handlers={404: _route_not_found, 405: _route_not_found},
    )


def _guarded(handler: Any) -> Any:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except _Fault as e:
            return e.response
        except Refused as e:
            return error(e.status, e.code, e.message)
    return run


async def _route_not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return error(405, "MethodNotAllowed", f"{request.method} is not allowed here")
    return error(404, "RouteNotFound", f"no route for {request.method} {request.url.path}")


async def admit(fake: FakeFlashduty, limiter: RateLimiter, request: Request, *,
                write: bool = False) -> tuple[dict[str, Any], str]:
    """Record the request, play an injected fault, check key, rate, permission and body.
    Returns (body, the key's member name); raises Refused (or _Fault) to answer early."""
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
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.body is not None:
            raise _Fault(Response(fault.body, fault.status, fault.headers, "application/json"))
        raise _Fault(error(fault.status, fault.code, fault.message, fault.headers))
    who = fake.key_member(request.query_params.get("app_key"))
    if who is None:
        raise Refused(401, "Unauthorized", "app_key is invalid or missing")
    s = fake.settings
    with fake.lock:
        admitted = limiter.admit(s.rate_per_second, s.rate_per_minute)
    if not admitted:
        headers = {"Retry-After": f"{s.retry_after:g}"} if s.retry_after is not None else None
        raise _Fault(error(429, "RequestTooFrequently", "Request too frequently.", headers))
    if write and not who[1]:
        raise Refused(403, "AccessDenied", "Access Denied.")
    if not isinstance(body, dict):
        raise Refused(400, "InvalidParameter", "the body must be a JSON object")
    return body, who[0]


class _Fault(Refused):
    """An answer made in full (an injected fault, a 429 with headers)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code, "", "")
        self.response = response


def int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _request_id() -> str:
    return secrets.token_hex(13).upper()


def ok(data: Any) -> JSONResponse:
    rid = _request_id()
    return JSONResponse({"request_id": rid, "data": data}, headers={"Flashcat-Request-Id": rid})


def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    rid = _request_id()
    return JSONResponse({"request_id": rid, "error": {"code": code, "message": message}},
                        status_code=status, headers={**(headers or {}), "Flashcat-Request-Id": rid})
