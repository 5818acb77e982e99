"""Where on the setup forms each error belongs.

Errors come from three places, each naming a part of the configuration in its own way:
the form itself (`SetupForm.problems`: the form's field ids), pydantic (a `loc` tuple such as
`("field_map", 0)`), and the check against Jira (`CheckReport.where`: "severity_map.Critical",
"field_map.1", ...). `field_id` turns the last two into the id of the form element the error
is shown next to; an error about no one field (the connection, permissions) gets None and is
shown in the summary at the top only.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .setup_form import PROGRESSES, SEVERITIES, SetupForm

FLASHDUTY_FIELDS = {"base_url": "flashduty_url", "app_key": "flashduty_key", "webhook_integration_id": "fd_webhook_id"}


def field_id(loc: str | Sequence[str | int], f: SetupForm) -> str | None:
    parts = loc.split(".") if isinstance(loc, str) else [str(p) for p in loc]
    head, rest = (parts[0], parts[1:]) if parts else ("", [])
    nxt = rest[0] if rest else ""
    if head in ("name", "project", "issue_type", "channels"):
        return head
    if head == "severity_map":
        return f"sev-{nxt}" if nxt in SEVERITIES else f"sev-{SEVERITIES[0]}"
    if head == "status_map":
        return f"status-{nxt}" if nxt in dict(PROGRESSES) else f"status-{PROGRESSES[0][0]}"
    if head == "field_map":
        row = f.row_of_mapping(int(nxt)) if nxt.isdigit() else None
        return f"fm-{row}-target" if row is not None else "required-fields"
    if head == "conditions":
        return "conditions"
    if head == "flashduty":
        return FLASHDUTY_FIELDS.get(nxt)
    return None


def by_field(errors: list[tuple[str | None, str]]) -> dict[str, str]:
    """Form field id -> its errors as one sentence list (one element per field: ids stay unique)."""
    out: dict[str, list[str]] = {}
    for where, message in errors:
        if where is not None:
            out.setdefault(where, []).append(message)
    return {where: " ".join(m if m.endswith(".") else m + "." for m in messages) for where, messages in out.items()}


# ------------------------------------------------------------------ step 1 (the Jira connection)
_STEP1_FIELDS = ("url", "username", "secret", "ca_bundle")
# rules about the connection as a whole (JiraConnection._auth) start with the field they are about
_STEP1_RULES = {"Value error, username": "username", "Value error, ca_bundle": "ca_bundle",
                "Value error, a personal access token is": "secret"}


def step1_field(loc: Any, message: str) -> str | None:
    """The step-1 field an error is shown at, or None (shown at the top only)."""
    parts = [str(p) for p in loc if p != "body"]
    if parts and parts[-1] in _STEP1_FIELDS:
        return parts[-1]
    return next((field for start, field in _STEP1_RULES.items() if message.startswith(start)), None)


def field_label(loc: Any) -> str:
    """A step-1 error's lead: the field's label as the form shows it."""
    names = {"url": "Service URL", "username": "Username", "secret": "Secret", "platform": "Platform type",
             "auth": "Sign-in method", "ca_bundle": "CA certificates"}
    parts = [str(p) for p in loc if p not in ("body",)]
    label = names.get(parts[-1], parts[-1]) if parts else ""
    return f"{label}: " if label else ""


_LABELS = {"name": "Name", "project": "Project", "issue_type": "Issue type", "channels": "Channels",
           "conditions": "Conditions", "severity_map": "Severity", "status_map": "Status", "flashduty": "Flashduty",
           "jira": "Jira connection"}


def config_message(e: Any) -> str:
    """A pydantic error of the configuration, led by the part of the form it is about."""
    loc = [str(p) for p in e["loc"]]
    label = _LABELS.get(loc[0], loc[0]) if loc else ""
    if loc[:1] == ["field_map"] and len(loc) > 1 and loc[1].isdigit():
        label = f"Field mapping {int(loc[1]) + 1}"
    return f"{label}: {e['msg'].removeprefix('Value error, ')}" if label else e["msg"]
