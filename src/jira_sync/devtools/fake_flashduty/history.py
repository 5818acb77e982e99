"""Webhook delivery history: one record per (event, integration), as `/webhook/history/list`
and `/webhook/history/detail` serve it (the spec's `WebhookHistoryItem`).

Spec facts: items carry `integration_id`, `event_id`, `webhook_type` ("incident"),
`event_type`, `channel_id`, `ref_id` (the incident id), `request_headers` and
`request_body` (strings: the exact bytes sent), `endpoint`, `attempt`, `duration` (ms),
`status` (success/failed), `status_code`, `error_message`, `response_headers`,
`response_body`, `event_time` (a formatted timestamp string, "2026-04-12T13:31:11.357472+08:00");
zero-valued optional fields are absent ("omitempty"). The page answer is `{items, total,
search_after_ctx}`, the cursor empty on the last page; `total` stops at 1,000 (pagination.mdx).

Inferred: one record per delivery, `attempt` = attempts made (1, or 2 after a retry; the
console calls it "Attempt Count: includes initial request and retries"), status and error
from the last attempt, `duration` summed over attempts; `event_type` uses the webhook's
`i_*` names (the console shows `i_new`, `i_ack`); the window is inclusive at both ends;
records older than `settings.history_retention` are dropped.
"""
from __future__ import annotations

import base64
import copy
import json
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

TOTAL_CAP = 1000  # pagination.mdx: "when >= 1000, total is always 1000"
_BASE62 = string.digits + string.ascii_letters


@dataclass
class HistoryRecord:
    integration_id: int
    event_id: str  # the record's id (see settings.history_event_id)
    event_type: str
    channel_id: int
    ref_id: str
    endpoint: str
    request_headers: str
    request_body: str
    event_ms: int
    seq: int
    attempt: int = 0
    duration: int = 0
    status: str = "failed"
    status_code: int = 0
    error_message: str = ""
    response_headers: str = ""
    response_body: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)  # each try, for tests

    def item(self, tz: tzinfo) -> dict[str, Any]:
        out: dict[str, Any] = {
            "integration_id": self.integration_id, "event_id": self.event_id,
            "webhook_type": "incident", "event_type": self.event_type,
            "channel_id": self.channel_id, "ref_id": self.ref_id,
            "request_headers": self.request_headers, "request_body": self.request_body,
            "endpoint": self.endpoint, "attempt": self.attempt, "duration": self.duration,
            "status": self.status, "status_code": self.status_code,
            "error_message": self.error_message, "response_headers": self.response_headers,
            "response_body": self.response_body, "event_time": iso_time(self.event_ms, tz),
        }
        required = {"integration_id", "event_id", "webhook_type", "event_type", "endpoint",
                    "attempt", "duration", "status", "status_code", "event_time"}
        return {k: v for k, v in out.items() if k in required or v not in ("", 0, None)}

    def key(self) -> tuple[int, str, int]:
        return (self.event_ms, self.event_id, self.integration_id)


class DeliveryHistory:
    """Thread-safe store; `retention` seconds and `clock` (seconds) come from the owner."""

    def __init__(self) -> None:
        self._records: list[HistoryRecord] = []
        self._lock = threading.Lock()
        self._seq = 0

    def new_id(self, now_ms: int, tz: tzinfo) -> str:
        day = datetime.fromtimestamp(now_ms / 1000, tz).strftime("%Y%m%d")
        return day + "".join(secrets.choice(_BASE62) for _ in range(22))

    def add(self, record: HistoryRecord) -> HistoryRecord:
        with self._lock:
            self._seq += 1
            record.seq = self._seq
            self._records.append(record)
        return record

    def update(self, record: HistoryRecord, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(record, name, value)

    def purge(self, cutoff_ms: int) -> None:
        with self._lock:
            self._records = [r for r in self._records if r.event_ms >= cutoff_ms]

    def all(self) -> list[HistoryRecord]:
        with self._lock:
            return [copy.deepcopy(r) for r in self._records]

    def find(self, event_id: str, integration_id: int) -> HistoryRecord | None:
        with self._lock:
            return next((copy.deepcopy(r) for r in self._records
                         if r.event_id == event_id and r.integration_id == integration_id), None)

    def page(self, q: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
        """`q` is a validated /webhook/history/list body; raises ValueError on a bad cursor."""
        after = decode_cursor(q["search_after_ctx"]) if q.get("search_after_ctx") else None
        asc = q.get("asc") is True
        with self._lock:
            found = [r for r in self._records if _matches(r, q)]
        found.sort(key=HistoryRecord.key, reverse=not asc)
        total = len(found)
        if after is not None:
            found = [r for r in found if (r.key() > after if asc else r.key() < after)]
        page, more = found[: q["limit"]], len(found) > q["limit"]
        return {
            "items": [copy.deepcopy(r.item(tz)) for r in page],
            "total": min(total, TOTAL_CAP),
            "search_after_ctx": encode_cursor(page[-1], tz) if more and page else "",
        }


def _matches(r: HistoryRecord, q: dict[str, Any]) -> bool:
    if not q["start_time"] <= r.event_ms <= q["end_time"]:
        return False
    if q.get("integration_id") and r.integration_id != q["integration_id"]:
        return False
    if q.get("ref_id") and r.ref_id != q["ref_id"]:
        return False
    if q.get("event_types") and r.event_type not in q["event_types"]:
        return False
    return not q.get("status") or r.status == q["status"]


def iso_time(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="microseconds")


def encode_cursor(r: HistoryRecord, tz: tzinfo) -> str:
    """Like the spec's example: base64 of {"event_time", "event_id"} (+ integration_id)."""
    raw = json.dumps({"event_time": iso_time(r.event_ms, tz), "event_id": r.event_id,
                      "integration_id": r.integration_id}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(ctx: str) -> tuple[int, str, int]:
    try:
        data = json.loads(base64.b64decode(ctx.encode(), validate=True))
        when = datetime.fromisoformat(data["event_time"])
        ms = round(when.timestamp() * 1000)
        return (ms, str(data["event_id"]), int(data.get("integration_id", 0)))
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError("search_after_ctx is not a cursor this API returned") from e
