"""Incident reads: `/incident/info`, `/incident/list-by-ids`, `/incident/list`.

Spec facts: ids are 24-hex ObjectIDs; an item is the spec's "Detailed incident record"
(the webhook's incident fields plus `integration_id(s)`, `closer_id`, `owner_id`,
`active_alert_cnt`, `silence_url`, ...; times in seconds); `/incident/list` needs
`start_time` < `end_time` (Unix seconds) at most 31 days apart, filters `progress` and
`incident_severity` as comma-separated strings, `channel_ids` (0 = no channel),
`incident_ids`, `nums`, `creator_ids`, `responder_ids`, `closer_ids`, `acker_ids`; pages by
`p` + `limit` (<= 100, default 20, p*limit <= 10,000) or by cursor `search_after_ctx`
(an incident id, returned only when a next page exists); `{items, total, has_next_page}`,
`total` capped at 1,000.

Inferred: an unknown id is 400 ResourceNotFound on /incident/info and is left out of
/incident/list-by-ids (order kept, at most `settings.list_by_ids_limit` = 100 ids); the
list window selects incidents by `start_time` (the legacy spec sorts by it), inclusive at
both ends, newest first unless `asc`; a cursor wins over `p`.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from jira_sync.devtools.fake_flashduty.api import OBJECT_ID, Refused, admit, int_in, ok
from jira_sync.devtools.fake_flashduty.history import TOTAL_CAP

if TYPE_CHECKING:
    from jira_sync.devtools.fake_flashduty.api import RateLimiter
    from jira_sync.devtools.fake_flashduty.state import FakeFlashduty

WINDOW = 31 * 86400
PROGRESS = ("Triggered", "Processing", "Closed")
SEVERITIES = ("Critical", "Warning", "Info")


def snapshot(fake: FakeFlashduty, inc: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a stored incident (call under fake.lock)."""
    snap = copy.deepcopy(inc)
    snap.pop("alerts", None)
    closer = snap.get("closer") or {}
    iid, channel = snap["incident_id"], snap.get("channel_id", 0)
    source = snap.get("data_source_id", 0)
    defaults: dict[str, Any] = {
        "account_id": fake.account_id, "account_name": fake.account_name,
        "account_locale": "en-US", "account_time_zone": "Asia/Shanghai",
        "integration_id": source, "integration_ids": [source] if source else [],
        "integration_types": ["monit.alert"] if source else [], "integration_type": "",
        "dedup_key": "", "equals_md5": "", "creator_id": 0,
        "closer_id": closer.get("person_id", 0), "owner_id": 0, "ai_summary": "",
        "ever_muted": False, "active_alert_cnt": 0 if snap["progress"] == "Closed" else
        snap.get("alert_cnt", 0), "alert_event_cnt": snap.get("alert_cnt", 0),
        "channel_status": "enabled", "post_mortem_id": "", "images": None,
        "manual_overrides": None, "frequency": "rare",
        "silence_url": f"{fake.console_url}/channel/detail/{channel}"
                       f"?tab=alertSuppression&fromIncidentId={iid}",
    }
    for name, value in defaults.items():
        snap.setdefault(name, value)
    return snap


def handlers(fake: FakeFlashduty, limiter: RateLimiter) -> dict[str, Any]:
    async def info(request: Request) -> Response:
        body, _ = await admit(fake, limiter, request)
        iid = body.get("incident_id")
        if not isinstance(iid, str) or not OBJECT_ID.match(iid):
            raise Refused(400, "InvalidParameter", "incident_id must be a 24-hex ObjectID")
        with fake.lock:
            if iid not in fake.incidents:
                raise Refused(400, "ResourceNotFound", "The resource you request is not found")
            return ok(snapshot(fake, fake.incidents[iid]))

    async def list_by_ids(request: Request) -> Response:
        body, _ = await admit(fake, limiter, request)
        ids = body.get("incident_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) and OBJECT_ID.match(i)
                                                for i in ids):
            raise Refused(400, "InvalidParameter", "incident_ids must be a list of ObjectIDs")
        if len(ids) > fake.settings.list_by_ids_limit:
            raise Refused(400, "InvalidParameter",
                          f"at most {fake.settings.list_by_ids_limit} incident_ids per call")
        with fake.lock:
            items = [snapshot(fake, fake.incidents[i]) for i in dict.fromkeys(ids)
                     if i in fake.incidents]
        return ok({"items": items, "total": len(items), "has_next_page": False})

    async def incident_list(request: Request) -> Response:
        body, _ = await admit(fake, limiter, request)
        q = _list_query(body)
        with fake.lock:
            found = [snapshot(fake, inc) for inc in fake.incidents.values() if _wanted(inc, q)]
        asc = body.get("asc") is True
        found.sort(key=lambda i: (i["start_time"], i["incident_id"]), reverse=not asc)
        total, limit = len(found), q["limit"]
        cursor = body.get("search_after_ctx")
        if cursor:
            with fake.lock:
                anchor = fake.incidents.get(cursor) if isinstance(cursor, str) else None
            if anchor is None:
                raise Refused(400, "InvalidParameter", "search_after_ctx is not a valid cursor")
            key = (anchor["start_time"], anchor["incident_id"])
            rest = [i for i in found if ((i["start_time"], i["incident_id"]) > key if asc
                                         else (i["start_time"], i["incident_id"]) < key)]
            page, more = rest[:limit], len(rest) > limit
        else:
            start = (q["p"] - 1) * limit
            page, more = found[start : start + limit], start + limit < total
        data: dict[str, Any] = {"items": page, "total": min(total, TOTAL_CAP), "has_next_page": more}
        if more and page:
            data["search_after_ctx"] = page[-1]["incident_id"]
        return ok(data)

    return {"/incident/info": info, "/incident/list-by-ids": list_by_ids,
            "/incident/list": incident_list}


def _list_query(body: dict[str, Any]) -> dict[str, Any]:
    start, end = body.get("start_time"), body.get("end_time")
    if not int_in(start, 0, 10**11) or not int_in(end, 0, 10**11):
        raise Refused(400, "InvalidParameter", "start_time and end_time are Unix seconds")
    if end <= start or end - start > WINDOW:
        raise Refused(400, "InvalidParameter",
                      "end_time must be after start_time and within 31 days of it")
    p, limit = body.get("p") or 1, body.get("limit") or 20
    if not int_in(p, 1, 10**6) or not int_in(limit, 1, 100):
        raise Refused(400, "InvalidParameter", "p must be >= 1 and limit in 0..100")
    if p * limit > 10_000:
        raise Refused(400, "InvalidParameter", "p * limit must not exceed 10000")
    q: dict[str, Any] = {"start": start, "end": end, "p": p, "limit": limit}
    for name, allowed in (("progress", PROGRESS), ("incident_severity", SEVERITIES)):
        value = body.get(name)
        if value in (None, ""):
            continue
        parts = value.split(",") if isinstance(value, str) else None
        if not parts or any(v not in allowed for v in parts):
            raise Refused(400, "InvalidParameter",
                          f"{name} is a comma-separated list of {', '.join(allowed)}")
        q[name] = set(parts)
    for name in ("channel_ids", "incident_ids", "nums", "creator_ids", "closer_ids",
                 "responder_ids", "acker_ids"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            raise Refused(400, "InvalidParameter", f"{name} must be a list")
        if value:
            q[name] = set(value)
    return q


def _wanted(inc: dict[str, Any], q: dict[str, Any]) -> bool:
    if not q["start"] <= inc["start_time"] <= q["end"]:
        return False
    checks = [
        ("progress", inc["progress"]), ("incident_severity", inc["incident_severity"]),
        ("channel_ids", inc.get("channel_id", 0)), ("incident_ids", inc["incident_id"]),
        ("nums", inc.get("num")), ("creator_ids", inc.get("creator_id", 0)),
        ("closer_ids", (inc.get("closer") or {}).get("person_id", 0)),
    ]
    if any(name in q and value not in q[name] for name, value in checks):
        return False
    people = {r["person_id"]: r for r in inc.get("responders", [])}
    if "responder_ids" in q and not q["responder_ids"] & people.keys():
        return False
    ackers = {pid for pid, r in people.items() if r.get("acknowledged_at")}
    return "acker_ids" not in q or bool(q["acker_ids"] & ackers)
