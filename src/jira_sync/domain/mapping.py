"""The seed's mapping tables as pure functions: incident snapshot -> what Jira should hold.

Field mapping: Summary <- title, Description <- description (+ a link to the incident),
Priority <- severity (via the integration's map), Reporter = the integration's user
(Jira's default for the authenticated account, so nothing is sent), custom text fields
per the integration's field mapping. Status mapping: progress -> status name.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .incident import IncidentSnapshot
from .integration import (
    CHINESE_STATUSES,
    DEFAULT_STATUSES,
    FieldMapping,
    IntegrationConfig,
    StatusMapping,
)
from .issue import Desired, IssueDraft
from .jira_meta import JiraMeta

SUMMARY_MAX = 255  # Jira rejects longer summaries
TEXTFIELD_MAX = 255  # single-line text custom fields have the same limit
_SPACES = re.compile(r"\s+")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def marker_label(incident_id: str) -> str:
    """The label that finds the issue again after a create whose answer was lost.

    Jira labels cannot contain spaces; Flashduty incident ids are hex, but be safe.
    """
    return "flashduty-" + _LABEL_UNSAFE.sub("_", incident_id)[:200]


def summary(snap: IncidentSnapshot) -> str:
    text = _SPACES.sub(" ", snap.title).strip()  # one line: Jira refuses line breaks here
    if not text:
        text = f"Flashduty incident {snap.num or snap.incident_id}"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def description_markdown(snap: IncidentSnapshot) -> str:
    parts = [snap.description.strip()] if snap.description.strip() else []
    if snap.detail_url:
        parts.append(f"[View incident {snap.num or snap.incident_id} in Flashduty]({snap.detail_url})")
    return "\n\n".join(parts)


def field_value(mapping: FieldMapping, snap: IncidentSnapshot) -> str:
    """What the mapping sends for this incident: its value, else the mapping's default, else ""."""
    return _source_value(mapping, snap) or (mapping.default or "")


def _source_value(mapping: FieldMapping, snap: IncidentSnapshot) -> str:
    match mapping.source:
        case "label":
            return snap.labels.get(mapping.name or "", "")
        case "labels":
            return "\n".join(f"{k}={v}" for k, v in sorted(snap.labels.items()))
        case "field":
            value: Any = snap.fields.get(mapping.name or "")
            if value is None:
                return ""
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        case "incident_id":
            return snap.incident_id
        case "incident_link":
            return snap.detail_url
    return ""


def may_be_empty(mapping: FieldMapping) -> bool:
    """Whether some incidents leave this mapping without a value: a label or custom field they
    lack, or no labels at all (Flashduty's webhook always carries the id and the link)."""
    return mapping.source in ("label", "labels", "field") and not mapping.default


def source_text(mapping: FieldMapping) -> str:
    """The mapping's source as people say it: "label 'customer'"."""
    return {"label": f"label {mapping.name!r}", "labels": "all labels", "field": f"custom field {mapping.name!r}",
            "incident_id": "the incident ID", "incident_link": "the incident link"}.get(mapping.source, mapping.source)


def why_empty(mapping: FieldMapping, snap: IncidentSnapshot) -> str | None:
    """Why this mapping gives this incident no value (None when it gives one)."""
    if field_value(mapping, snap):
        return None
    what = {"label": f"no label {mapping.name!r}", "labels": "no labels", "field": f"no custom field {mapping.name!r}",
            "incident_link": "no link"}.get(mapping.source, "no value for it")
    return f"the incident has {what}"


def refusal_note(cfg: IntegrationConfig, snap: IncidentSnapshot, refused_fields: dict[str, str]) -> str:
    """For a create Jira refused: which field mappings left a field it complained about empty."""
    notes = []
    for mapping in cfg.field_map:
        why = why_empty(mapping, snap) if mapping.target in refused_fields else None
        if why is not None:
            notes.append(f"{mapping.target} is left empty by the field mapping from {source_text(mapping)}: {why}. "
                         "Give that mapping a default value, then retry")
    return "; ".join(notes)


def desired_priority(cfg: IntegrationConfig, meta: JiraMeta, severity: str) -> str | None:
    """The Jira priority id for a severity, or None when it cannot be mapped.

    `meta.severity_priority_ids` is what the last check resolved (names -> ids);
    an unchecked integration falls back to the configured value taken as an id.
    """
    if not cfg.severity_map or meta.priority_on_screen is False:
        return None
    resolved = meta.severity_priority_ids
    if severity in resolved:
        return resolved[severity]
    for sev, value in cfg.severity_map.items():
        if sev.value == severity:
            return value
    return None


def status_mapping(cfg: IntegrationConfig, meta: JiraMeta) -> StatusMapping:
    """The configured mapping, else the defaults the last check chose for this workflow."""
    if cfg.status_map is not None:
        return cfg.status_map
    if meta.default_statuses == "zh":
        return CHINESE_STATUSES
    return DEFAULT_STATUSES


def desired_status(cfg: IntegrationConfig, meta: JiraMeta, progress: str) -> str | None:
    return status_mapping(cfg, meta).for_progress(progress)


def desired_state(cfg: IntegrationConfig, meta: JiraMeta, snap: IncidentSnapshot) -> Desired:
    return Desired(desired_priority(cfg, meta, snap.severity), desired_status(cfg, meta, snap.progress))


def issue_draft(cfg: IntegrationConfig, meta: JiraMeta, snap: IncidentSnapshot) -> IssueDraft:
    text_kinds = meta.text_fields
    text_fields: dict[str, tuple[str, str]] = {}
    for mapping in cfg.field_map:
        value = field_value(mapping, snap)
        if not value:
            continue  # an empty value would only blank the field
        kind = text_kinds.get(mapping.target, "textfield")
        if kind == "textfield":
            value = _SPACES.sub(" ", value)[:TEXTFIELD_MAX]
        text_fields[mapping.target] = (value, kind)
    labels = (marker_label(snap.incident_id),) if meta.labels_on_screen else ()
    return IssueDraft(
        project_key=meta.project_key or cfg.project,
        issue_type_id=meta.issue_type_id or cfg.issue_type,
        summary=summary(snap),
        description_markdown=description_markdown(snap),
        priority_id=desired_priority(cfg, meta, snap.severity),
        labels=labels,
        text_fields=text_fields,
    )
