"""Incident writes: `/incident/ack`, `/unack`, `/resolve`, `/reopen`, `/comment`, `/reset`.

Spec facts: each needs the "Incidents Manage" permission (else 403 AccessDenied); the batch
calls take `incident_ids` (1..100 ObjectIDs); `resolve` takes optional `root_cause` and
`resolution`, `reopen` an optional `reason` (each <= 1,024 characters); `comment` takes
`comment` (<= 1,024 in the current spec, 500 and >= 1 in the legacy one: the limit is
`settings.comment_max_length`, default 1,024) and `mute_reply`; `reset` takes `incident_id`
and at least one of `title` (3..200), `description`, `impact`, `root_cause`, `resolution`
(3..6,144) and `incident_severity` (Info/Warning/Critical). Success is `data: null` ("The
server returns `data: null` on success"). Lengths count characters (Go validators count runes).

Each change goes through the state's mutators acting as the app key's member: the incident
changes, the feed gets the entry with that member as `creator_id`, and the webhook event
(`i_ack`, `i_unack`, `i_rslv`, `i_reopen`, `i_comm`, `i_r_title`, `i_r_desc`, `i_r_impact`,
`i_r_rc`, `i_r_rsltn`, `i_r_severity`) goes out with that member as `person`, delivered on
the worker thread so the server keeps answering.

Inferred: an unknown id makes the whole call 400 ResourceNotFound with no change; ack of a
non-Triggered, unack of a non-Processing, resolve of a Closed and reopen of an open incident
follow `settings.noop_answer` ("skip": 200, nothing happens; "error": 400 InvalidParameter,
nothing happens); `reset` of a field to its current value emits nothing; resolve's root
cause and resolution ride on its one i_rslv event; the feed's i_rslv detail says
`"from": "console"`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from jira_sync.devtools.fake_flashduty.api import OBJECT_ID, Refused, admit, ok
from jira_sync.devtools.fake_flashduty.api_incidents import SEVERITIES

if TYPE_CHECKING:
    from jira_sync.devtools.fake_flashduty.api import RateLimiter
    from jira_sync.devtools.fake_flashduty.state import FakeFlashduty

BATCH = 100
NOTE_MAX = 1024
RESET_LIMITS = {"title": (3, 200), "description": (3, 6144), "impact": (3, 6144),
                "root_cause": (3, 6144), "resolution": (3, 6144)}
_ALREADY = {  # action -> (is it a no-op for this incident?, what to say)
    "ack": (lambda inc: inc["progress"] != "Triggered", "is not Triggered"),
    "unack": (lambda inc: inc["progress"] != "Processing", "is not acknowledged"),
    "resolve": (lambda inc: inc["progress"] == "Closed", "is already closed"),
    "reopen": (lambda inc: inc["progress"] != "Closed", "is not closed"),
}


def handlers(fake: FakeFlashduty, limiter: RateLimiter) -> dict[str, Any]:
    async def ack(request: Request) -> Response:
        body, member = await admit(fake, limiter, request, write=True)
        return _batch(fake, body, "ack", lambda iid: fake.ack(iid, by=member))

    async def unack(request: Request) -> Response:
        body, member = await admit(fake, limiter, request, write=True)
        return _batch(fake, body, "unack", lambda iid: fake.unack(iid, by=member))

    async def resolve(request: Request) -> Response:
        body, member = await admit(fake, limiter, request, write=True)
        notes = {k: _text(body, k, 0, NOTE_MAX) for k in ("root_cause", "resolution")}
        return _batch(fake, body, "resolve", lambda iid: fake.resolve(iid, by=member, **notes))

    async def reopen(request: Request) -> Response:
        body, member = await admit(fake, limiter, request, write=True)
        reason = _text(body, "reason", 0, NOTE_MAX) or ""
        return _batch(fake, body, "reopen", lambda iid: fake.reopen(iid, by=member, reason=reason))

    async def comment(request: Request) -> Response:
        body, member = await admit(fake, limiter, request, write=True)
        text = _text(body, "comment", 1, fake.settings.comment_max_length)
        if text is None:
            raise Refused(400, "InvalidParameter", "comment is required")
        mute = body.get("mute_reply", False)
        if not isinstance(mute, bool):
            raise Refused(400, "InvalidParameter", "mute_reply must be a boolean")
        return _batch(fake, body, "comment",
                      lambda iid: fake.add_comment(iid, text, member, mute_reply=mute))

    async def reset(request: Request) -> Response:
        body, member = await admit(fake, limiter, request, write=True)
        iid = body.get("incident_id")
        if not isinstance(iid, str) or not OBJECT_ID.match(iid):
            raise Refused(400, "InvalidParameter", "incident_id must be a 24-hex ObjectID")
        changes = {k: v for k, (low, high) in RESET_LIMITS.items()
                   if (v := _text(body, k, low, high)) is not None}
        severity = body.get("incident_severity")
        if severity is not None and severity not in SEVERITIES:
            raise Refused(400, "InvalidParameter", "incident_severity is Info, Warning or Critical")
        if not changes and severity is None:
            raise Refused(400, "InvalidParameter", "give at least one field to change")
        with fake._change(background=True):
            inc = _incidents(fake, [iid])[0]
            for name, value in changes.items():
                if inc[name] != value:
                    fake.reset(iid, name, value, by=member)
            if severity is not None and inc["incident_severity"] != severity:
                fake.set_severity(iid, severity, by=member)
        return ok(None)

    return {"/incident/ack": ack, "/incident/unack": unack, "/incident/resolve": resolve,
            "/incident/reopen": reopen, "/incident/comment": comment, "/incident/reset": reset}


def _batch(fake: FakeFlashduty, body: dict[str, Any], action: str,
           apply: Callable[[str], Any]) -> Response:
    ids = body.get("incident_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= BATCH or not all(
            isinstance(i, str) and OBJECT_ID.match(i) for i in ids):
        raise Refused(400, "InvalidParameter", f"incident_ids must hold 1 to {BATCH} ObjectIDs")
    ids = list(dict.fromkeys(ids))
    with fake._change(background=True):  # deliveries go to the worker once this is done
        incidents = _incidents(fake, ids)
        noop, said = _ALREADY.get(action, (lambda inc: False, ""))
        skipped = {inc["incident_id"] for inc in incidents if noop(inc)}
        if skipped and fake.settings.noop_answer.get(action, "skip") == "error":
            raise Refused(400, "InvalidParameter", f"incident {sorted(skipped)[0]} {said}")
        for iid in ids:
            if iid not in skipped:
                apply(iid)
    return ok(None)


def _incidents(fake: FakeFlashduty, ids: list[str]) -> list[dict[str, Any]]:
    missing = [i for i in ids if i not in fake.incidents]
    if missing:
        raise Refused(400, "ResourceNotFound", f"incident {missing[0]} is not found")
    return [fake.incidents[i] for i in ids]


def _text(body: dict[str, Any], name: str, low: int, high: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise Refused(400, "InvalidParameter", f"{name} must be a string of {low} to {high} characters")
    return value
