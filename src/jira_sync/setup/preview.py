"""What an integration would send to Jira for a sample incident, without sending it.

The console's preview and its "create one test issue" button both start here, from the
same `issue_draft` and request body the sync uses, so what is shown is what will be sent.
The test issue carries the label `jira-sync-test`, never the `flashduty-<id>` marker: a
later real incident with the sample's id must not adopt it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from ..domain.incident import IncidentSnapshot
from ..domain.integration import IntegrationConfig
from ..domain.jira_meta import JiraMeta
from ..domain.mapping import field_value, issue_draft, source_text, why_empty
from ..jira.port import IssueRef, SetupJira
from ..jira.site import create_request, rich_text_html
from ..sources.flashduty import PayloadError, parse_webhook

TEST_LABEL = "jira-sync-test"
TEST_PREFIX = "[jira-sync test] "

# An incident as Flashduty's webhook carries it (the documented example, with a
# description, more labels and a custom field so every mapping has something to show).
SAMPLE_INCIDENT: dict[str, Any] = {
    "incident_id": "64b1352e376e32c85c56e25b",
    "num": "56E25B",
    "title": "CPU idle low on db-01",
    "description": "CPU idle below **5%** for 10 minutes.\n\n- host: `db-01`\n- check: cpu idle low",
    "incident_severity": "Critical",
    "progress": "Triggered",
    "channel_id": 1840312623504,
    "channel_name": "Reduce Noise",
    "labels": {"check": "cpu idle low", "host": "db-01", "service": "checkout"},
    "fields": {"runbook": "https://wiki.example.com/runbooks/cpu"},
    "detail_url": "https://console.flashcat.cloud/incident/detail/64b1352e376e32c85c56e25b",
    "created_at": 1689335086,
}


def sample_text() -> str:
    return json.dumps(SAMPLE_INCIDENT, indent=2, ensure_ascii=False)


def parse_sample(text: str) -> IncidentSnapshot:
    """A sample incident (the `incident` object of a webhook, as JSON). Raises ValueError saying what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the sample incident is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("incident"), dict):
        data = data["incident"]  # a whole webhook body pasted: take its incident
    if not isinstance(data, dict):
        raise ValueError("the sample incident must be a JSON object")
    data.setdefault("incident_id", "sample")
    try:
        return parse_webhook(json.dumps({"event_type": "i_new", "incident": data}).encode()).incident
    except PayloadError as exc:
        raise ValueError(f"the sample incident: {exc}") from None


@dataclass
class Preview:
    summary: str
    description_html: str  # the description as Jira renders the body we send
    description_body: Any  # that body: ADF (Cloud) or wiki markup (Server/DC)
    priority: str | None  # the priority's name
    labels: list[str]
    # each field mapping: {"name", "value"}, and for one that gives this incident no value
    # {"empty": why, "fails": True when Jira requires the field}
    fields: list[dict[str, Any]]
    request: dict[str, Any]  # the whole create request


def build_preview(
    cfg: IntegrationConfig, meta: JiraMeta, snap: IncidentSnapshot, *, field_names: dict[str, str],
    required: frozenset[str] = frozenset(),
) -> Preview:
    """`meta.priorities` names the priorities; `field_names` the mapped text fields; `required`
    the fields Jira requires (without a default of its own)."""
    draft = issue_draft(cfg, meta, snap)
    request = create_request(draft, cfg.jira.platform)
    body = request["fields"]
    description = body.get("description")
    return Preview(
        summary=body["summary"],
        description_html=rich_text_html(description, cfg.jira.platform),
        description_body=description,
        priority=meta.priority_name(draft.priority_id),
        labels=list(draft.labels),
        fields=_mapped_fields(cfg, snap, draft.text_fields, field_names, required),
        request=request,
    )


def _mapped_fields(cfg: IntegrationConfig, snap: IncidentSnapshot, sent: dict[str, tuple[str, str]],
                   names: dict[str, str], required: frozenset[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in cfg.field_map:
        name = names.get(m.target, m.target)
        why = why_empty(m, snap)
        if why is None:
            out.append({"name": name, "value": sent[m.target][0] if m.target in sent else field_value(m, snap)})
        elif m.target in required and m.target not in sent:
            out.append({"name": name, "value": "", "fails": True,
                        "empty": f"Empty: {why}. Jira requires this field, so creating this issue would fail: "
                                 f"give the mapping from {source_text(m)} a default value."})
        else:
            out.append({"name": name, "value": "", "fails": False, "empty": f"Empty: {why}, so the field is left empty."})
    return out


async def create_test_issue(jira: SetupJira, cfg: IntegrationConfig, meta: JiraMeta, snap: IncidentSnapshot) -> IssueRef:
    draft = issue_draft(cfg, meta, snap)
    labels = (TEST_LABEL,) if meta.labels_on_screen else ()
    return await jira.create_issue(replace(draft, summary=TEST_PREFIX + draft.summary, labels=labels))
