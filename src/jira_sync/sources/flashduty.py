"""Flashduty webhook body → `WebhookEvent`. Pure and cheap: it runs on the ingest path.

Strict only where the sync cannot go on without it (a JSON object with an
`incident.incident_id`); tolerant everywhere else, because Flashduty adds fields and
event types over time and treats every field as optional (flashduty.md §1).
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from jira_sync.domain.incident import IncidentSnapshot, WebhookEvent

__all__ = ["PayloadError", "parse_webhook"]


class PayloadError(ValueError):
    """The body cannot be a Flashduty webhook; the message says exactly why."""


def parse_webhook(body: bytes) -> WebhookEvent:
    """Parse one Incident Webhook or Custom Action delivery.

    Raises `PayloadError` when the body is not JSON, not a JSON object, has no
    `incident` object, or has no non-empty `incident.incident_id`. Everything else is
    optional: unknown fields and event types are kept or ignored, numbers sent as
    strings are coerced, and wrong-typed optional fields fall back to their defaults.

    `event_id` is read from the top level, or from inside `incident` (one Flashduty
    doc example puts it there, flashduty.md §2). When neither has one, the id is
    derived as ``"sha256:" + sha256(body).hexdigest()`` (71 characters), so an
    identical redelivery of the same bytes still deduplicates (flashduty.md §1:
    "the receiver needs to deduplicate"). It cannot collide with Flashduty's own
    ids, which are 32 hex digits.
    """
    data = _load(body)
    incident = data.get("incident")
    if incident is None:
        raise PayloadError("`incident` is missing")
    if not isinstance(incident, dict):
        raise PayloadError(f"`incident` is {_kind(incident)}, not an object")
    incident_id = _text(incident.get("incident_id")).strip()
    if not incident_id:
        raise PayloadError("`incident.incident_id` is missing or empty")

    event_id = _text(data.get("event_id")).strip() or _text(incident.get("event_id")).strip()
    if not event_id:
        event_id = "sha256:" + hashlib.sha256(body).hexdigest()
    person = data.get("person")
    return WebhookEvent(
        event_id=event_id,
        event_type=_text(data.get("event_type")).strip(),
        event_time=_int(data.get("event_time")),  # milliseconds (flashduty.md §1)
        incident=_snapshot(incident_id, incident),
        person_name=_text(person.get("person_name")) if isinstance(person, dict) else "",
    )


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise PayloadError(
            f"body is not JSON: {e.msg} at line {e.lineno} column {e.colno} (char {e.pos})"
        ) from None
    except UnicodeDecodeError as e:  # json.loads(bytes) decodes UTF-8/16/32 first
        raise PayloadError(f"body is not JSON: invalid {e.encoding} at byte {e.start}") from None
    except RecursionError:
        raise PayloadError("body is not usable JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError(f"body is {_kind(data)}, not a JSON object")
    return data


def _snapshot(incident_id: str, inc: dict[str, Any]) -> IncidentSnapshot:
    # `incident_severity`/`progress` are kept verbatim, even an unknown word from a
    # newer Flashduty; the domain decides what to do with it.
    fields = inc.get("fields")
    return IncidentSnapshot(
        incident_id=incident_id,
        title=_text(inc.get("title")),
        description=_text(inc.get("description")),
        severity=_text(inc.get("incident_severity")).strip(),
        progress=_text(inc.get("progress")).strip(),
        channel_id=_int(inc.get("channel_id")),
        channel_name=_text(inc.get("channel_name")),
        labels=_labels(inc.get("labels")),
        fields=dict(fields) if isinstance(fields, dict) else {},
        detail_url=_text(inc.get("detail_url")).strip(),
        num=_text(inc.get("num")).strip(),
        created_at=_int(inc.get("created_at")),  # unix seconds, 0 = unset
        updated_at=_int(inc.get("updated_at")),  # unix seconds, 0 = unset
    )


def _labels(value: Any) -> dict[str, str]:
    # Labels are a string→string map, absent on manually created incidents (flashduty.md §1).
    if not isinstance(value, dict):
        return {}
    return {
        str(k): v if isinstance(v, str) else ("" if v is None else str(v))
        for k, v in value.items()
    }


def _text(value: Any) -> str:
    """A string field: numbers become their decimal text; anything else is absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return ""


def _int(value: Any) -> int:
    """An int64 field: accepts ints, integral floats and numeric strings; otherwise 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        s = value.strip()
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return 0
            return int(f) if math.isfinite(f) else 0
    return 0


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
