"""The incident as jira-sync sees it: the latest snapshot Flashduty sent, nothing else.

Pure data, no I/O. `sources/flashduty.py` builds these from webhook payloads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


MAX_ID_LENGTH = 128  # the width of events.event_id and incidents.incident_id
_NOT_IN_ID = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def id_problem(ident: str) -> str | None:
    """Why `ident` cannot be an incident or event id, or None when it can. Ids are exact
    (never repaired), fit their columns and travel in URL paths."""
    if not ident:
        return "is empty"
    if len(ident) > MAX_ID_LENGTH:
        return f"is {len(ident)} characters long; at most {MAX_ID_LENGTH} are allowed"
    if _NOT_IN_ID.search(ident):
        return "contains a control character or a lone surrogate (U+D800-U+DFFF)"
    if ident in (".", ".."):
        return f"cannot be {ident!r}: ids travel in URL paths"
    return None


class Severity(StrEnum):
    CRITICAL = "Critical"
    WARNING = "Warning"
    INFO = "Info"


class Progress(StrEnum):
    TRIGGERED = "Triggered"
    PROCESSING = "Processing"
    CLOSED = "Closed"


@dataclass(frozen=True, slots=True)
class IncidentSnapshot:
    """The latest complete incident Flashduty pushed (each event carries all of it)."""

    incident_id: str
    title: str = ""
    description: str = ""
    severity: str = ""  # a Severity value, or "" / an unknown word from a newer Flashduty
    progress: str = ""  # a Progress value, or "" / unknown
    channel_id: int = 0  # 0 = no channel
    channel_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    detail_url: str = ""
    num: str = ""
    created_at: int = 0  # unix seconds, 0 = unset
    updated_at: int = 0  # unix seconds of Flashduty's last change, 0 = unknown (recovery compares it)

    def to_json(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "title": self.title,
            "description": self.description,
            "severity": self.severity,
            "progress": self.progress,
            "channel_id": self.channel_id,
            "channel_name": self.channel_name,
            "labels": dict(self.labels),
            "fields": dict(self.fields),
            "detail_url": self.detail_url,
            "num": self.num,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "IncidentSnapshot":
        known = {k: data[k] for k in cls.__slots__ if k in data}  # type: ignore[attr-defined]
        return cls(**known)


# The event type of a snapshot the recovery sweep read from Flashduty's Open API (not a webhook).
# Its change is not known, so it counts as a possible comment too: the comment feed is read.
RECOVERED = "recovered"
COMMENT_EVENTS = frozenset({"i_comm", RECOVERED})


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One delivery from Flashduty's Incident Webhook or a Custom Action."""

    event_id: str
    event_type: str  # i_new, i_ack, ..., i_custom, i_comm; unknown types are kept and ignored
    event_time: int  # milliseconds since the epoch; 0 when absent
    incident: IncidentSnapshot
    person_name: str = ""
    repaired: tuple[str, ...] = ()  # what the parser changed to make free text storable
