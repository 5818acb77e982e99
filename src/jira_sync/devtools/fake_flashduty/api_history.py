"""`/webhook/history/list` and `/webhook/history/detail` (permission "Integrations Read").

Spec facts (body of list): `limit` 1..100, `start_time` and `end_time` in Unix
milliseconds (13 digits, end after start) all required; optional `search_after_ctx`,
`asc` (by `event_time`; descending otherwise), `orderby` ("event_time" only), `ref_id`
(<= 128), `integration_id` (>= 0), `event_types`, `status` (success/failed). Detail takes
`event_id` and `integration_id` (>= 1) and adds `ref_title` and `channel_name`.
Answers and retention: history.py. Inferred: integration_id 0 means every integration; an
unknown detail is 400 ResourceNotFound.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from jira_sync.devtools.fake_flashduty.api import Refused, admit, int_in, ok

if TYPE_CHECKING:
    from jira_sync.devtools.fake_flashduty.api import RateLimiter
    from jira_sync.devtools.fake_flashduty.state import FakeFlashduty

_MS_LOW, _MS_HIGH = 1_000_000_000_000, 9_999_999_999_999


def handlers(fake: FakeFlashduty, limiter: RateLimiter) -> dict[str, Any]:
    async def history_list(request: Request) -> Response:
        body, _ = await admit(fake, limiter, request)
        q = _query(body)
        fake.purge_history()
        try:
            return ok(fake.history.page(q, fake.settings.time_zone))
        except ValueError as e:
            raise Refused(400, "InvalidParameter", str(e)) from None

    async def history_detail(request: Request) -> Response:
        body, _ = await admit(fake, limiter, request)
        event_id, integration_id = body.get("event_id"), body.get("integration_id")
        if not isinstance(event_id, str) or not event_id or not int_in(integration_id, 1, 2**63):
            raise Refused(400, "InvalidParameter", "event_id and integration_id are required")
        fake.purge_history()
        record = fake.history.find(event_id, integration_id)
        if record is None:
            raise Refused(400, "ResourceNotFound", "The resource you request is not found")
        item = record.item(fake.settings.time_zone)
        with fake.lock:
            inc = fake.incidents.get(record.ref_id) or {}
            item["ref_title"] = inc.get("title", "")
            item["channel_name"] = inc.get("channel_name", "")
        return ok(item)

    return {"/webhook/history/list": history_list, "/webhook/history/detail": history_detail}


def _query(body: dict[str, Any]) -> dict[str, Any]:
    if not int_in(body.get("limit"), 1, 100):
        raise Refused(400, "InvalidParameter", "limit is required, 1 to 100")
    start, end = body.get("start_time"), body.get("end_time")
    if not int_in(start, _MS_LOW, _MS_HIGH) or not int_in(end, _MS_LOW, _MS_HIGH):
        raise Refused(400, "InvalidParameter", "start_time and end_time are Unix milliseconds")
    if end <= start:
        raise Refused(400, "InvalidParameter", "end_time must be greater than start_time")
    checks = [
        ("asc", lambda v: isinstance(v, bool)),
        ("orderby", lambda v: v in ("", "event_time")),
        ("ref_id", lambda v: isinstance(v, str) and len(v) <= 128),
        ("integration_id", lambda v: int_in(v, 0, 2**63)),
        ("event_types", lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v)),
        ("status", lambda v: v in ("", "success", "failed")),
        ("search_after_ctx", lambda v: isinstance(v, str)),
    ]
    for name, valid in checks:
        if body.get(name) is not None and not valid(body[name]):
            raise Refused(400, "InvalidParameter", f"{name} is not valid")
    return {**body, "start_time": start, "end_time": end}
