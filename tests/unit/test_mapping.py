"""The seed's mapping tables (domain/mapping.py): what Jira should hold for an incident."""
from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_sync.domain import mapping
from jira_sync.domain.incident import IncidentSnapshot
from jira_sync.domain.integration import (
    CHINESE_STATUSES,
    DEFAULT_STATUSES,
    FieldMapping,
    StatusMapping,
)
from jira_sync.domain.jira_meta import JiraMeta
from support.configs import integration_config

HEX_ID = "64b1352e376e32c85c56e25b"
URL = f"https://console.flashcat.cloud/incident/detail/{HEX_ID}"
LABEL = re.compile(r"flashduty-[A-Za-z0-9_.-]*")
CHECKED = JiraMeta(  # what a check of OPS / Task resolved (setup/checks.py)
    project_key="OPS", issue_type_id="10001", checked_at=1.0, priority_on_screen=True,
    severity_priority_ids={"Critical": "1", "Warning": "3", "Info": "4"},
    text_fields={"customfield_10050": "textfield", "customfield_10051": "textarea"},
)


def snap(**fields: Any) -> IncidentSnapshot:
    return IncidentSnapshot(**{"incident_id": HEX_ID, "title": "Disk full", "num": "C56E25B", **fields})


# ------------------------------------------------------------------ summary
def test_summary_folds_line_breaks_and_runs_of_spaces() -> None:
    assert mapping.summary(snap(title="  Disk full\non db-01\r\n\tsecond  line ")) == "Disk full on db-01 second line"


def test_a_blank_title_gives_a_summary_naming_the_incident() -> None:
    assert mapping.summary(snap(title=" \n ")) == "Flashduty incident C56E25B"
    assert mapping.summary(snap(title="", num="")) == f"Flashduty incident {HEX_ID}"


def test_summary_is_cut_to_255_characters_with_an_ellipsis() -> None:
    assert mapping.summary(snap(title="x" * 255)) == "x" * 255  # exactly the limit: kept whole
    cut = mapping.summary(snap(title="y" * 256))
    assert len(cut) == 255 and cut == "y" * 254 + "…"


@given(st.text())
def test_any_title_gives_one_line_within_255_characters(title: str) -> None:
    s = mapping.summary(snap(title=title))
    assert 0 < len(s) <= mapping.SUMMARY_MAX
    assert not any(c.isspace() and c != " " for c in s) and "  " not in s and s == s.strip()
    words = title.split()
    if not words:
        assert s == "Flashduty incident C56E25B"
    elif len(" ".join(words)) <= mapping.SUMMARY_MAX:
        assert s.split() == words  # every word kept, in order
    else:
        assert s.endswith("…") and " ".join(words).startswith(s[:-1])


# ------------------------------------------------------------------ description
def test_description_is_the_incident_description_plus_a_link() -> None:
    text = mapping.description_markdown(snap(description="  Volume **/var** is at *99%*\n", detail_url=URL))
    assert text == f"Volume **/var** is at *99%*\n\n[View incident C56E25B in Flashduty]({URL})"


def test_description_without_a_text_or_without_a_link() -> None:
    assert mapping.description_markdown(snap(detail_url=URL, num="")) == f"[View incident {HEX_ID} in Flashduty]({URL})"
    assert mapping.description_markdown(snap(description="only text")) == "only text"
    assert mapping.description_markdown(snap(description=" \n")) == ""


# ------------------------------------------------------------------ field mapping
LABELLED = snap(labels={"service": "checkout", "host": "web-01"}, detail_url=URL,
                fields={"customer": "ACME", "count": 3, "tags": ["a", "ü"], "empty": None})


@pytest.mark.parametrize(("source", "name", "value"), [
    ("label", "host", "web-01"),
    ("label", "missing", ""),
    ("labels", None, "host=web-01\nservice=checkout"),  # sorted by name, one per line
    ("field", "customer", "ACME"),
    ("field", "count", "3"),  # not a string: JSON
    ("field", "tags", '["a", "ü"]'),  # JSON, non-ASCII kept as is
    ("field", "empty", ""),
    ("field", "missing", ""),
    ("incident_id", None, HEX_ID),
    ("incident_link", None, URL),
])
def test_every_field_mapping_source(source: str, name: str | None, value: str) -> None:
    m = FieldMapping(source=source, name=name, target="customfield_10050")  # type: ignore[arg-type]
    assert mapping.field_value(m, LABELLED) == value


def test_issue_draft_text_fields_follow_their_kind_and_skip_empty_values() -> None:
    cfg = integration_config(field_map=[
        {"source": "labels", "target": "customfield_10050"},  # a textfield: one line, 255 at most
        {"source": "labels", "target": "customfield_10051"},  # a textarea: lines kept
        {"source": "label", "name": "missing", "target": "customfield_10052"},  # empty: not sent
        {"source": "field", "name": "long", "target": "customfield_10053"},  # unchecked: a textfield
    ])
    draft = mapping.issue_draft(cfg, CHECKED, snap(labels={"a": "1", "b": "2"}, fields={"long": "z" * 300}))
    assert draft.text_fields == {
        "customfield_10050": ("a=1 b=2", "textfield"),
        "customfield_10051": ("a=1\nb=2", "textarea"),
        "customfield_10053": ("z" * 255, "textfield"),
    }


def test_a_mapping_default_fills_in_only_when_the_incident_has_no_value() -> None:
    cfg = integration_config(field_map=[
        {"source": "label", "name": "customer", "target": "customfield_10050", "default": "unknown"},
        {"source": "labels", "target": "customfield_10051", "default": "no labels"},
    ])
    draft = mapping.issue_draft(cfg, CHECKED, snap(labels={"customer": "ACME"}))
    assert draft.text_fields == {"customfield_10050": ("ACME", "textfield"), "customfield_10051": ("customer=ACME", "textarea")}
    bare = mapping.issue_draft(cfg, CHECKED, snap(labels={}))
    assert bare.text_fields == {"customfield_10050": ("unknown", "textfield"), "customfield_10051": ("no labels", "textarea")}
    assert FieldMapping(source="incident_id", target="x", default="  ").default is None  # blank means none


@pytest.mark.parametrize(("source", "name", "default", "may_be_empty"), [
    ("label", "customer", None, True), ("labels", None, None, True), ("field", "team", None, True),
    ("label", "customer", "unknown", False), ("incident_id", None, None, False), ("incident_link", None, None, False),
])
def test_which_mappings_may_leave_a_field_empty(source: str, name: str | None, default: str | None,
                                                 may_be_empty: bool) -> None:
    m = FieldMapping(source=source, name=name, target="customfield_10060", default=default)  # type: ignore[arg-type]
    assert mapping.may_be_empty(m) is may_be_empty


def test_a_refused_create_names_the_mapping_that_left_the_field_empty() -> None:
    cfg = integration_config(field_map=[
        {"source": "label", "name": "customer", "target": "customfield_10060"},
        {"source": "label", "name": "host", "target": "customfield_10050"},
    ])
    refused = {"customfield_10060": "Customer is required."}
    note = mapping.refusal_note(cfg, snap(labels={"host": "db-01"}), refused)
    assert note == ("customfield_10060 is left empty by the field mapping from label 'customer': the incident has no "
                    "label 'customer'. Give that mapping a default value, then retry")
    assert mapping.refusal_note(cfg, snap(labels={"customer": "ACME"}), refused) == ""  # not the mapping's doing
    assert mapping.refusal_note(cfg, snap(labels={}), {}) == ""  # Jira named no field


def test_issue_draft_takes_checked_ids_and_carries_the_marker_label() -> None:
    draft = mapping.issue_draft(integration_config(), CHECKED, snap(severity="Warning", detail_url=URL))
    assert (draft.project_key, draft.issue_type_id) == ("OPS", "10001")  # the check's ids, not "Task"
    assert draft.summary == "Disk full" and URL in draft.description_markdown
    assert draft.priority_id == "3" and draft.labels == (f"flashduty-{HEX_ID}",)
    unchecked = mapping.issue_draft(integration_config(), JiraMeta(), snap())
    assert (unchecked.project_key, unchecked.issue_type_id) == ("OPS", "Task")
    no_labels = mapping.issue_draft(integration_config(), CHECKED.model_copy(update={"labels_on_screen": False}), snap())
    assert no_labels.labels == ()  # Labels not on the screen: sending one would be refused


# ------------------------------------------------------------------ severity -> priority
@pytest.mark.parametrize(("severity", "checked", "unchecked"), [
    ("Critical", "1", "Highest"),  # checked: the id the check resolved; unchecked: the value as configured
    ("Warning", "3", "Medium"),
    ("Info", "4", "Low"),
    ("", None, None),  # no severity
    ("Fatal", None, None),  # a word from a newer Flashduty
])
def test_severity_to_priority_with_and_without_a_check(severity: str, checked: str | None, unchecked: str | None) -> None:
    assert mapping.desired_priority(integration_config(), CHECKED, severity) == checked
    assert mapping.desired_priority(integration_config(), JiraMeta(), severity) == unchecked


def test_a_severity_left_out_of_the_map_sets_no_priority() -> None:
    cfg = integration_config(severity_map={"Critical": "Highest"})
    assert mapping.desired_priority(cfg, JiraMeta(), "Critical") == "Highest"
    assert mapping.desired_priority(cfg, JiraMeta(), "Info") is None
    assert mapping.desired_priority(integration_config(severity_map=None), CHECKED, "Critical") is None


def test_no_priority_when_the_priority_is_off_the_screen() -> None:
    off = JiraMeta(checked_at=1.0, priority_on_screen=False, severity_priority_ids={"Critical": "1"})
    assert mapping.desired_priority(integration_config(), off, "Critical") is None
    assert mapping.issue_draft(integration_config(), off, snap(severity="Critical")).priority_id is None
    assert mapping.desired_state(integration_config(), off, snap(severity="Critical", progress="Triggered")).priority_id is None


# ------------------------------------------------------------------ progress -> status
@pytest.mark.parametrize(("progress", "english", "chinese"), [
    ("Triggered", "To Do", "待办"),
    ("Processing", "In Progress", "处理中"),
    ("Closed", "Done", "完成"),
    ("Snoozed", None, None),  # unknown progress: no move
    ("", None, None),
])
def test_status_defaults_english_and_chinese(progress: str, english: str | None, chinese: str | None) -> None:
    cfg = integration_config(status_map=None)
    assert mapping.desired_status(cfg, JiraMeta(), progress) == english  # unchecked: English
    assert mapping.desired_status(cfg, JiraMeta(default_statuses="en"), progress) == english
    assert mapping.desired_status(cfg, JiraMeta(default_statuses="zh"), progress) == chinese


def test_a_configured_status_map_wins_over_the_defaults() -> None:
    flow = {"triggered": "Open", "processing": "In Progress", "closed": "Closed"}
    cfg = integration_config(status_map=flow)
    assert mapping.status_mapping(cfg, JiraMeta(default_statuses="zh")) == StatusMapping(**flow)
    assert mapping.status_mapping(integration_config(), JiraMeta(default_statuses="zh")) is CHINESE_STATUSES
    assert mapping.status_mapping(integration_config(), JiraMeta()) is DEFAULT_STATUSES
    desired = mapping.desired_state(cfg, CHECKED, snap(severity="Info", progress="Closed"))
    assert (desired.priority_id, desired.status) == ("4", "Closed")


# ------------------------------------------------------------------ the marker label
@pytest.mark.parametrize(("incident_id", "label"), [
    (HEX_ID, f"flashduty-{HEX_ID}"),
    ("inc 42/x", "flashduty-inc_42_x"),  # Jira labels cannot hold spaces
    ("事件-1", "flashduty-__-1"),
    ("a.b_c-D", "flashduty-a.b_c-D"),
    ("x" * 500, "flashduty-" + "x" * 200),  # bounded
])
def test_marker_label_for_odd_incident_ids(incident_id: str, label: str) -> None:
    assert mapping.marker_label(incident_id) == label


@given(st.text())
def test_any_incident_id_gives_a_label_jira_accepts(incident_id: str) -> None:
    label = mapping.marker_label(incident_id)
    assert LABEL.fullmatch(label) and len(label) <= len("flashduty-") + 200
    assert label == mapping.marker_label(incident_id)  # the same every time: the search finds it


@given(st.from_regex(r"[0-9a-f]{24}", fullmatch=True), st.from_regex(r"[0-9a-f]{24}", fullmatch=True))
def test_flashduty_ids_keep_their_own_label(a: str, b: str) -> None:
    assert mapping.marker_label(a) == "flashduty-" + a
    assert (mapping.marker_label(a) == mapping.marker_label(b)) == (a == b)  # never another incident's issue
