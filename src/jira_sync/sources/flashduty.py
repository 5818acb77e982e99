"""Flashduty webhook body → `WebhookEvent`. Pure and cheap: it runs on the ingest path.

Strict only where the sync cannot go on without it (a JSON object with an
`incident.incident_id`); tolerant everywhere else, because Flashduty adds fields and
event types over time and treats every field as optional (flashduty.md §1).

The input rules (README, "Input rules") are applied here, once, so that no store, page,
API answer or Jira request ever sees a value it cannot hold:

- Identifiers (`incident_id`, `event_id`) are exact: 1-128 characters, no control
  characters, no lone surrogates, not "." or ".." (they travel in URL paths). Anything
  else is a `PayloadError` (400): an id cannot be repaired without becoming another id.
- Numbers: every integer in the body fits int64, every other number is finite, and
  `NaN`/`Infinity` are not JSON. `event_time` is at least 0. Otherwise a `PayloadError`.
  (Flashduty's sender is Go: its int64 fields and encoder cannot produce these.)
- Free text (title, description, labels, fields, names, URLs) is kept, with each lone
  surrogate and NUL replaced by U+FFFD; the words `event_type`, `incident_severity` and
  `progress` are cut to their columns' widths (32, 16, 16). `WebhookEvent.repaired` says
  what was changed, and the webhook's 200 answer repeats it. Flashduty never retries a
  4xx, so repairing odd text keeps the event instead of losing it.
- `labels` and `fields` nest at most `MAX_DEPTH` levels: deeper is a `PayloadError`.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

from jira_sync.domain import json_input
from jira_sync.domain.incident import IncidentSnapshot, WebhookEvent, id_problem
from jira_sync.domain.json_input import INT64_MAX, INT64_MIN, MAX_DEPTH, REPLACEMENT, UNSTORABLE, shorten

__all__ = ["MAX_DEPTH", "PayloadError", "parse_webhook"]

WORD_WIDTHS = {"event_type": 32, "incident.incident_severity": 16, "incident.progress": 16}


class PayloadError(ValueError):
    """The body cannot be a Flashduty webhook; the message says exactly why."""


def parse_webhook(body: bytes) -> WebhookEvent:
    """Parse one Incident Webhook or Custom Action delivery.

    Raises `PayloadError` when the body is not JSON, not a JSON object, has no
    `incident` object, has no valid `incident.incident_id`, or breaks one of the input
    rules above. Everything else is optional: unknown fields and event types are kept or
    ignored, numbers sent as strings are coerced, and wrong-typed optional fields fall
    back to their defaults.

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
    incident_id = _identifier(incident.get("incident_id"), "incident.incident_id")
    if not incident_id:
        raise PayloadError("`incident.incident_id` is missing or empty")

    event_id = _identifier(data.get("event_id"), "event_id") or _identifier(incident.get("event_id"), "incident.event_id")
    if not event_id:
        event_id = "sha256:" + hashlib.sha256(body).hexdigest()
    # An ASCII body without \u escapes cannot hold a NUL or a lone surrogate anywhere: its
    # text needs no repair, and checking each string would cost more than the JSON parse.
    fix = _Repairs(plain=body.isascii() and b"\\u" not in body)
    person = data.get("person")
    event_type = fix.word(data.get("event_type"), "event_type")
    snapshot = _snapshot(incident_id, incident, fix)
    return WebhookEvent(
        event_id=event_id,
        event_type=event_type,
        event_time=_int(data.get("event_time"), "event_time", minimum=0),  # milliseconds (flashduty.md §1)
        incident=snapshot,
        person_name=fix.text(person.get("person_name"), "person.person_name") if isinstance(person, dict) else "",
        repaired=fix.notes(),
    )


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json_input.loads(body)
    except json_input.JsonRejected as e:
        raise PayloadError(str(e)) from None
    if not isinstance(data, dict):
        raise PayloadError(f"body is {_kind(data)}, not a JSON object")
    return data


def _identifier(value: Any, path: str) -> str:
    """An id, exactly as sent (numbers become their decimal text), or "" when absent."""
    ident = _plain(value).strip()
    problem = id_problem(ident) if ident else None
    if problem:
        raise PayloadError(f"`{path}` {problem}")
    return ident


class _Repairs:
    """Free text made storable, and a note of each field that had to be changed."""

    def __init__(self, *, plain: bool = False) -> None:
        self.plain = plain  # nothing in the body can need a repair (see parse_webhook)
        self.replaced: list[str] = []
        self.cut: list[str] = []

    def text(self, value: Any, path: str) -> str:
        return self.clean(_plain(value), path)

    def clean(self, text: str, path: str) -> str:
        if self.plain or (text.isascii() and "\x00" not in text) or UNSTORABLE.search(text) is None:  # the first is quicker
            return text
        if path not in self.replaced:
            self.replaced.append(path)
        return UNSTORABLE.sub(REPLACEMENT, text)

    def word(self, value: Any, path: str) -> str:
        word = self.text(value, path).strip()
        width = WORD_WIDTHS[path]
        if len(word) > width:
            self.cut.append(path)
            word = word[:width]
        return word

    def tree(self, value: Any, path: str, depth: int = 1) -> Any:
        """A copy of a JSON value with every key and string cleaned; at most MAX_DEPTH deep."""
        if self.plain:  # the parser's own objects can be kept: only the depth is checked
            _check_depth(value, path, depth)
            return value
        if isinstance(value, str):
            return self.clean(value, path)
        if depth > MAX_DEPTH and isinstance(value, (dict, list)):
            raise PayloadError(f"`{path}` nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            return {self.clean(str(k), path): self.tree(v, path, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v, path, depth + 1) for v in value]
        return value

    def notes(self) -> tuple[str, ...]:
        notes = []
        if self.replaced:
            notes.append(f"lone surrogates or NUL characters replaced with U+FFFD in: {', '.join(self.replaced)}")
        for path in self.cut:
            notes.append(f"{path} cut to {WORD_WIDTHS[path]} characters")
        return tuple(notes)


def _check_depth(value: Any, path: str, depth: int) -> None:
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return
    if depth > MAX_DEPTH:
        raise PayloadError(f"`{path}` nests deeper than {MAX_DEPTH} levels")
    for child in children:
        if isinstance(child, (dict, list)):
            _check_depth(child, path, depth + 1)


def _snapshot(incident_id: str, inc: dict[str, Any], fix: _Repairs) -> IncidentSnapshot:
    # `incident_severity`/`progress` are kept verbatim (up to their width), even an unknown
    # word from a newer Flashduty; the domain decides what to do with it.
    fields = inc.get("fields")
    return IncidentSnapshot(
        incident_id=incident_id,
        title=fix.text(inc.get("title"), "incident.title"),
        description=fix.text(inc.get("description"), "incident.description"),
        severity=fix.word(inc.get("incident_severity"), "incident.incident_severity"),
        progress=fix.word(inc.get("progress"), "incident.progress"),
        channel_id=_int(inc.get("channel_id"), "incident.channel_id"),
        channel_name=fix.text(inc.get("channel_name"), "incident.channel_name"),
        labels=_labels(inc.get("labels"), fix),
        fields=fix.tree(fields, "incident.fields") if isinstance(fields, dict) else {},
        detail_url=fix.text(inc.get("detail_url"), "incident.detail_url").strip(),
        num=fix.text(inc.get("num"), "incident.num").strip(),
        created_at=_int(inc.get("created_at"), "incident.created_at"),  # unix seconds, 0 = unset
        updated_at=_int(inc.get("updated_at"), "incident.updated_at"),  # unix seconds, 0 = unset
    )


def _labels(value: Any, fix: _Repairs) -> dict[str, str]:
    # Labels are a string→string map, absent on manually created incidents (flashduty.md §1).
    if not isinstance(value, dict):
        return {}
    value = fix.tree(value, "incident.labels")
    return {k: v if isinstance(v, str) else ("" if v is None else str(v)) for k, v in value.items()}


def _plain(value: Any) -> str:
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


def _int(value: Any, path: str, *, minimum: int = INT64_MIN) -> int:
    """An int64 field: ints, integral floats and numeric strings; 0 for anything else
    (wrong types fall back to the default); a number out of range is a `PayloadError`."""
    number = _number(value)
    if number is None:
        return 0
    if not minimum <= number <= INT64_MAX:
        raise PayloadError(f"`{path}` is {shorten(str(number))}, outside {minimum}..{INT64_MAX}")
    return number


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 400:  # past that it is no number we could hold
        s = value.strip()
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return None
            return int(f) if math.isfinite(f) else None
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
