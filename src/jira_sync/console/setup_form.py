"""The setup form's state: HTML form fields <-> an integration configuration.

The configuration step is one HTML form that is posted back for every action (load a
project's metadata, add a condition, check the sample, preview, save), so that it works
without JavaScript; this module is the only place that knows the form's field names.
Condition values are one per line, because regexes may hold commas and bars.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..domain.incident import Severity
from ..domain.integration import FieldMapping, FieldSource, IntegrationConfig, JiraConnection
from ..domain.jira_meta import JiraMeta

SEVERITIES = [s.value for s in Severity]
PROGRESSES = [("triggered", "Triggered (Flashduty: pending)"), ("processing", "Processing (acknowledged)"),
              ("closed", "Closed (resolved)")]
FIELD_SOURCES: list[tuple[FieldSource, str]] = [
    ("label", "One label"), ("labels", "All labels"), ("field", "A custom field"),
    ("incident_id", "Incident ID"), ("incident_link", "Incident link"),
]
CONDITION_KEYS = ["severity", "title", "description", "channel_id", "labels.", "fields."]
_ROW = re.compile(r"^(cond|fm)-(\d+)(?:-(\d+))?-(\w+)$")
_CHANNEL_PICK = re.compile(r"^channel-(\d{1,19})$")  # a ticked box of the channel picker


@dataclass
class ConditionRow:
    key: str = ""
    oper: str = "IN"
    vals: str = ""  # one value per line

    def values(self) -> list[str]:
        return [v.strip() for v in self.vals.splitlines() if v.strip()]


@dataclass
class FieldRow:
    source: str = "label"
    name: str = ""
    target: str = ""
    default: str = ""  # sent when the incident has no value for the source


TWO_WAY_FIELDS = ("status", "comments", "priority")


@dataclass
class SetupForm:
    conn_token: str = ""
    integration_id: int | None = None
    name: str = ""
    trigger: str = "automatic"
    groups: list[list[ConditionRow]] = field(default_factory=list)
    project: str = ""
    issue_type: str = ""
    channels: str = ""  # channel ids typed in (any channel, seen or not)
    channel_picks: list[str] = field(default_factory=list)  # ids ticked in the picker of channels seen
    severity: dict[str, str] = field(default_factory=dict)  # severity -> priority id
    statuses: dict[str, str] = field(default_factory=dict)  # triggered/processing/closed -> status name
    field_rows: list[FieldRow] = field(default_factory=list)
    flashduty_url: str = "https://api.flashcat.cloud"
    flashduty_key: str = ""  # blank on edit = keep the stored key
    recover_missed: bool = True  # recovery of missed webhooks (needs the key)
    fd_webhook_id: str = ""  # Flashduty's id of its Incident Webhook integration, optional
    comment_issue_link: bool = True  # the issue's key as a comment on the incident (needs the key)
    # two-way sync per field: "off", or "flashduty" / "jira" (both ways, that side owning conflicts)
    two_way: dict[str, str] = field(default_factory=dict)
    poll_seconds: str = ""  # blank: the platform's default
    sample: str = ""

    # ------------------------------------------------------------ from the HTML form
    @classmethod
    def parse(cls, form: Mapping[str, Any]) -> "SetupForm":
        def text(name: str, default: str = "") -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else default

        state = cls(
            conn_token=text("conn_token"),
            integration_id=int(text("integration_id")) if text("integration_id").isdigit() else None,
            name=text("name"),
            trigger="manual" if text("trigger") == "manual" else "automatic",
            project=text("project"),
            issue_type=text("issue_type"),
            channels=text("channels"),
            severity={s: text(f"sev-{s}") for s in SEVERITIES if text(f"sev-{s}")},
            statuses={p: text(f"status-{p}") for p, _ in PROGRESSES if text(f"status-{p}")},
            flashduty_url=text("flashduty_url") or "https://api.flashcat.cloud",
            flashduty_key=text("flashduty_key"),
            recover_missed=text("recover_missed") == "on",
            fd_webhook_id=text("fd_webhook_id"),
            comment_issue_link=text("comment_issue_link") == "on",
            two_way={f: text(f"tw-{f}") for f in TWO_WAY_FIELDS if text(f"tw-{f}") in ("flashduty", "jira")},
            poll_seconds=text("tw_poll"),
            sample=form.get("sample") if isinstance(form.get("sample"), str) else "",
        )
        conds: dict[int, dict[int, ConditionRow]] = {}
        fields: dict[int, FieldRow] = {}
        for name, value in form.items():
            if (pick := _CHANNEL_PICK.match(name)) and value:
                state.channel_picks.append(pick.group(1))
            m = _ROW.match(name)
            if not m or not isinstance(value, str):
                continue
            kind, a, b, attr = m.group(1), int(m.group(2)), m.group(3), m.group(4)
            if kind == "cond" and b is not None and attr in ("key", "oper", "vals"):
                row = conds.setdefault(a, {}).setdefault(int(b), ConditionRow())
                setattr(row, attr, value if attr == "vals" else value.strip())
            elif kind == "fm" and b is None and attr in ("source", "name", "target", "default"):
                setattr(fields.setdefault(a, FieldRow()), attr, value.strip())
        state.groups = [[conds[g][i] for i in sorted(conds[g])] for g in sorted(conds)]
        state.field_rows = [fields[i] for i in sorted(fields)]
        return state

    # ------------------------------------------------------------ actions that only edit the form
    def apply_edit(self, action: str) -> bool:
        """Add/remove rows; True when `action` was such an edit."""
        parts = action.split(":")
        if parts[0] == "add_group":
            self.groups.append([ConditionRow()])
        elif parts[0] == "add_cond" and _index_ok(parts, 1, self.groups):
            self.groups[int(parts[1])].append(ConditionRow())
        elif parts[0] == "del_cond" and _index_ok(parts, 1, self.groups) and _index_ok(parts, 2, self.groups[int(parts[1])]):
            group = self.groups[int(parts[1])]
            del group[int(parts[2])]
            if not group:
                del self.groups[int(parts[1])]
        elif parts[0] == "add_field":
            self.field_rows.append(FieldRow())
        elif parts[0] == "del_field" and _index_ok(parts, 1, self.field_rows):
            del self.field_rows[int(parts[1])]
        else:
            return False
        return True

    # ------------------------------------------------------------ <-> configuration
    def conditions(self) -> list[list[dict[str, Any]]]:
        groups = []
        for group in self.groups:
            rows = [{"key": r.key, "oper": r.oper if r.oper in ("IN", "NOTIN") else "IN", "vals": r.values()}
                    for r in group if r.key]
            if rows:
                groups.append(rows)
        return groups

    def channel_ids(self) -> list[int]:
        """The ticked channels, then the typed ids, each once."""
        ids: list[int] = []
        for part in [*self.channel_picks, *re.split(r"[\s,]+", self.channels)]:
            if not part:
                continue
            if not part.isdigit():
                raise ValueError(f"channel ids are numbers (the id in the channel's address), not {part!r}")
            if int(part) not in ids:
                ids.append(int(part))
        return ids

    def problems(self) -> list[tuple[str, str]]:
        """(form field id, message) for what cannot even become a configuration."""
        found = []
        for where, check in (("channels", self.channel_ids), ("status-triggered", self.status_map),
                             ("fd_webhook_id", self.webhook_integration_id)):
            try:
                check()
            except ValueError as exc:
                found.append((where, str(exc)))
        return found

    def status_map(self) -> dict[str, str] | None:
        if not self.statuses:
            return None
        missing = [p for p, _ in PROGRESSES if not self.statuses.get(p)]
        if missing:
            raise ValueError("status mapping: choose a Jira status for all three states, or for none")
        return dict(self.statuses)

    def config_data(self, connection: JiraConnection, flashduty_key: str | None) -> dict[str, Any]:
        """The integration configuration as a dict for `IntegrationConfig` (may still be invalid)."""
        return {
            "name": self.name,
            "jira": connection.model_dump(mode="python"),  # python mode keeps the SecretStr
            "trigger": self.trigger,
            "conditions": self.conditions() if self.trigger == "automatic" else [],
            "project": self.project,
            "issue_type": self.issue_type,
            "channels": self.channel_ids(),
            "severity_map": dict(self.severity) or None,
            "status_map": self.status_map(),
            "field_map": [{"source": r.source, "name": r.name or None, "target": r.target, "default": r.default or None}
                          for r in self.field_rows if r.target],
            "flashduty": {"base_url": self.flashduty_url, "app_key": flashduty_key or None,
                          "recover_missed": self.recover_missed, "webhook_integration_id": self.webhook_integration_id(),
                          "comment_issue_link": self.comment_issue_link},
            "two_way": {**{f: {"direction": "two_way", "owner": owner} for f, owner in self.two_way.items()},
                        "poll_seconds": self.poll_interval()},
        }

    def mappings(self) -> list[FieldMapping]:
        """Every row as a mapping, unchecked and in form order (row i is mapping i), for the
        required-field box: a half-filled row must not hide the others."""
        return [FieldMapping.model_construct(source=r.source, name=r.name or None, target=r.target,
                                             default=r.default or None) for r in self.field_rows]

    def row_of_mapping(self, index: int) -> int | None:
        """The form row of the configuration's field_map[index] (rows without a target are left out of it)."""
        rows = [i for i, r in enumerate(self.field_rows) if r.target]
        return rows[index] if 0 <= index < len(rows) else None

    def poll_interval(self) -> int | None:
        if not self.poll_seconds:
            return None
        if not self.poll_seconds.isdigit():
            raise ValueError("the polling interval is a whole number of seconds (0 = never), or empty for the default")
        return int(self.poll_seconds)

    def webhook_integration_id(self) -> int | None:
        if not self.fd_webhook_id:
            return None
        if not self.fd_webhook_id.isdigit():
            raise ValueError("the Flashduty webhook integration id is a number (in the integration's address)")
        return int(self.fd_webhook_id)

    @classmethod
    def from_config(cls, integration_id: int, cfg: IntegrationConfig, meta: JiraMeta, conn_token: str) -> "SetupForm":
        """The form for editing a saved integration (secrets blank: kept unless retyped)."""
        statuses = cfg.status_map.model_dump() if cfg.status_map else {}
        ids = meta.severity_priority_ids
        return cls(
            conn_token=conn_token,
            integration_id=integration_id,
            name=cfg.name,
            trigger=cfg.trigger,
            groups=[[ConditionRow(c.key, c.oper, "\n".join(c.vals)) for c in g] for g in cfg.conditions],
            project=meta.project_key or cfg.project,
            issue_type=meta.issue_type_id or cfg.issue_type,
            channels=", ".join(str(c) for c in cfg.channels),
            severity={s.value: ids.get(s.value, v) for s, v in (cfg.severity_map or {}).items()},
            statuses=statuses,
            field_rows=[FieldRow(m.source, m.name or "", m.target, m.default or "") for m in cfg.field_map],
            flashduty_url=cfg.flashduty.base_url,
            recover_missed=cfg.flashduty.recover_missed,
            fd_webhook_id=str(cfg.flashduty.webhook_integration_id or ""),
            comment_issue_link=cfg.flashduty.comment_issue_link,
            two_way={f: getattr(cfg.two_way, f).owner for f in TWO_WAY_FIELDS if getattr(cfg.two_way, f).two_way},
            poll_seconds="" if cfg.two_way.poll_seconds is None else str(cfg.two_way.poll_seconds),
        )


def _index_ok(parts: list[str], pos: int, items: list[Any]) -> bool:
    return len(parts) > pos and parts[pos].isdigit() and int(parts[pos]) < len(items)
