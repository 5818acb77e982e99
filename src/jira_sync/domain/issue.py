"""What jira-sync asks Jira to hold for one incident: values of the domain, not of any adapter.

The Jira port (`jira/port.py`) takes an `IssueDraft` and renders it for its site (ADF on
Cloud, wiki markup on Server/DC); the domain never knows which.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class IssueDraft:
    """The issue to create for an incident."""

    project_key: str
    issue_type_id: str
    summary: str  # already one line, <= 255 characters
    description_markdown: str
    priority_id: str | None = None
    labels: tuple[str, ...] = ()  # includes the marker label that finds the issue again
    # field id -> (text, "textfield" | "textarea"); textarea is ADF on Cloud v3
    text_fields: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Desired:
    """What an existing issue should show for the incident's latest snapshot."""

    priority_id: str | None
    status: str | None


def issue_number(key: str | None) -> int | None:
    """The number of an issue key (`OPS-12` -> 12). Jira gives each project's issues numbers in
    sequence, never reused, so an issue made later always has a higher number."""
    if not key or "-" not in key:
        return None
    tail = key.rsplit("-", 1)[1]
    return int(tail) if tail.isdigit() else None
