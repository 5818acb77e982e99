"""The live check before an integration is saved (setup/checks.py), against the Jira emulator
in-process: every problem named, and a passing check's JiraMeta as the sync reads it."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from jira_sync.devtools.fake_jira import FakeJira
from jira_sync.domain import mapping
from jira_sync.domain.incident import IncidentSnapshot
from jira_sync.domain.integration import CHINESE_STATUSES
from jira_sync.domain.jira_meta import JiraMeta
from jira_sync.jira.client import JiraClient
from jira_sync.setup.checks import CheckReport, check_integration
from support.configs import JIRA_URL, integration_config

VIEWER = {"cloud": ("viewer@example.com", "viewer-token"), "server": ("viewer", "viewer")}
OPS_STATUSES = "To Do, In Progress, Done"


async def check(site: FakeJira, flavour: str | None = None, **overrides: Any) -> CheckReport:
    """`check_integration` of a configuration for this site (or one that says `flavour`)."""
    cfg = integration_config(flavour or site.flavour, **overrides)
    jira = JiraClient(cfg.jira, transport=httpx.ASGITransport(app=site.app))
    try:
        return await check_integration(cfg, jira)
    finally:
        await jira.aclose()


@pytest.fixture(params=["cloud", "server"])
def site(request: pytest.FixtureRequest) -> FakeJira:
    return FakeJira(request.param)


@pytest.fixture
def cloud() -> FakeJira:
    return FakeJira("cloud")


async def test_a_passing_check_fills_the_meta_the_sync_needs(site: FakeJira) -> None:
    field_map = [{"source": "incident_id", "target": "customfield_10050"},
                 {"source": "labels", "target": "customfield_10051"}]
    report = await check(site, field_map=field_map, flashduty={"app_key": "fd-key"})
    assert report.ok and report.errors == [] and report.warnings == []
    meta = report.meta
    assert (meta.project_key, meta.project_id, meta.issue_type_id, meta.issue_type_name) == ("OPS", "10000", "10001", "Task")
    assert meta.deployment == ("Cloud" if site.cloud else "Server") and meta.version and meta.account and meta.checked
    assert meta.priority_on_screen is True and meta.labels_on_screen is True
    assert meta.severity_priority_ids == {"Critical": "1", "Warning": "3", "Info": "4"}  # names resolved to ids
    assert meta.priorities == {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
    assert meta.text_fields == {"customfield_10050": "textfield", "customfield_10051": "textarea"}
    assert sorted((s.name, s.category) for s in meta.statuses) == [
        ("Done", "done"), ("In Progress", "indeterminate"), ("To Do", "new")]
    assert meta.default_statuses == "en"

    # stored as JSON on the integration's row, read back by the worker
    stored = JiraMeta.model_validate(meta.to_json())
    assert stored == meta
    cfg = integration_config(site.flavour, field_map=field_map)
    draft = mapping.issue_draft(cfg, stored, IncidentSnapshot(
        incident_id="64b1352e376e32c85c56e25b", title="t", severity="Warning", labels={"a": "1", "b": "2"}))
    assert (draft.project_key, draft.issue_type_id, draft.priority_id) == ("OPS", "10001", "3")
    assert draft.text_fields["customfield_10051"] == ("a=1\nb=2", "textarea")  # the kind the check found
    assert mapping.desired_status(cfg, stored, "Closed") == "Done"


@pytest.mark.parametrize(("site_flavour", "chosen"), [("server", "cloud"), ("cloud", "server")])
async def test_wrong_platform_type_is_named_and_nothing_else_is_asked(site_flavour: str, chosen: str) -> None:
    site = FakeJira(site_flavour)
    report = await check(site, chosen)
    assert len(report.errors) == 1 and report.errors[0].startswith(f"wrong platform type: {JIRA_URL} is ")
    choose = "Server / Data Center" if chosen == "cloud" else "Cloud"
    assert report.errors[0].endswith(f"choose the platform type {choose}.")
    assert not report.meta.checked
    assert [path for _, path, _ in site.request_log] == ["/rest/api/2/serverInfo"]


async def test_missing_permissions_are_listed(site: FakeJira) -> None:
    username, secret = VIEWER[site.flavour]
    report = await check(site, jira={"url": JIRA_URL, "platform": site.flavour, "username": username, "secret": secret})
    assert len(report.errors) == 1, report.errors  # without CREATE_ISSUES nothing else can be checked
    assert report.errors[0].endswith("lacks these permissions in OPS: CREATE_ISSUES, EDIT_ISSUES, TRANSITION_ISSUES, ADD_COMMENTS")
    assert not report.meta.checked


async def test_refused_credentials_are_one_plain_error(cloud: FakeJira) -> None:
    report = await check(cloud, jira={"url": JIRA_URL, "platform": "cloud", "username": "admin@example.com",
                                      "secret": "not-the-token"})
    assert len(report.errors) == 1 and "rejected" in report.errors[0] and "not-the-token" not in report.errors[0]


async def test_unknown_issue_type_lists_the_available_ones(site: FakeJira) -> None:
    report = await check(site, issue_type="Epic")
    assert report.errors == ["issue type 'Epic' is not available in this project; available: Task (10001), Bug (10002)"]
    by_name = await check(site, issue_type="bug")  # names are matched without case
    assert by_name.ok and (by_name.meta.issue_type_id, by_name.meta.issue_type_name) == ("10002", "Bug")


async def test_priority_not_on_the_screen(site: FakeJira) -> None:
    refused = await check(site, project="NOPRI")
    assert refused.errors == [
        "issue type Task has no Priority field on its create screen: severity mapping cannot be configured "
        "(remove it, or add Priority to the screen)"]
    unmapped = await check(site, project="NOPRI", severity_map=None)
    assert unmapped.ok and unmapped.meta.priority_on_screen is False
    # and the sync then sends no priority, whatever the configuration says
    cfg = integration_config(site.flavour, project="NOPRI")
    assert mapping.desired_priority(cfg, unmapped.meta, "Critical") is None


async def test_a_priority_name_jira_does_not_have(cloud: FakeJira) -> None:
    report = await check(cloud, severity_map={"Critical": "Urgent", "Info": "low"})
    assert report.errors == ["priority 'Urgent' (for Critical) is not one of: Highest, High, Medium, Low, Lowest"]
    assert report.meta.severity_priority_ids == {"Info": "4"}  # names are matched without case


async def test_required_field_without_a_mapping(site: FakeJira) -> None:
    report = await check(site, project="REQ")
    assert report.errors == ["required field 'Customer' (customfield_10060) has no mapping and no default: "
                             "Jira would refuse to create issues"]
    assert report.where == {report.errors[0]: "field_map"}
    # a label some incidents lack fills it only sometimes: refused until the mapping has a default
    from_label = {"source": "label", "name": "customer", "target": "customfield_10060"}
    refused = await check(site, project="REQ", field_map=[{"source": "incident_id", "target": "customfield_10050"}, from_label])
    assert [e for e in refused.errors if "Customer" in e] == [
        "required field 'Customer' (customfield_10060) is filled only from label 'customer': Jira would refuse to "
        "create the issue of every incident without it. Give the mapping a default value (used when the incident "
        "has none)"]
    assert refused.where[refused.errors[-1]] == "field_map.1"
    mapped = await check(site, project="REQ", field_map=[{**from_label, "default": "unknown"}])
    assert mapped.ok and mapped.meta.text_fields == {"customfield_10060": "textfield"}
    always = await check(site, project="REQ", field_map=[{"source": "incident_id", "target": "customfield_10060"}])
    assert always.ok  # every incident has an id


async def test_mapped_fields_must_be_text_fields_on_the_screen(site: FakeJira) -> None:
    report = await check(site, field_map=[
        {"source": "label", "name": "team", "target": "customfield_10052"},  # a select list
        {"source": "incident_id", "target": "customfield_10060"},  # REQ's field, not on OPS's screen
    ])
    assert report.errors == [
        "field 'Team' (customfield_10052) is not a text field: only text fields can be mapped",
        "field customfield_10060 is not on the create screen of this issue type",
    ]


async def test_unknown_status_names_are_listed_with_what_exists(site: FakeJira) -> None:
    report = await check(site, status_map={"triggered": "to do", "processing": "Doing", "closed": "Finished"})
    assert report.errors == [  # "to do": names are matched without case
        f"status 'Doing' (for Processing) is not in this project's workflow; available: {OPS_STATUSES}",
        f"status 'Finished' (for Closed) is not in this project's workflow; available: {OPS_STATUSES}",
    ]


async def test_english_defaults_where_the_workflow_lacks_them_are_named(cloud: FakeJira) -> None:
    report = await check(cloud, project="FLOW")  # Open / Triage / In Progress / Resolved / Closed
    available = "Open, Triage, In Progress, Resolved, Closed"
    assert report.errors == [
        f"status 'To Do' (for Triggered) is not in this project's workflow; available: {available}",
        f"status 'Done' (for Closed) is not in this project's workflow; available: {available}",
    ]
    flow = {"triggered": "Open", "processing": "In Progress", "closed": "Closed"}
    assert (await check(cloud, project="FLOW", status_map=flow)).ok


async def test_a_chinese_workflow_gets_the_chinese_defaults(site: FakeJira) -> None:
    report = await check(site, project="CN", severity_map={"Critical": "紧急", "Info": "低"})
    assert report.ok, report.errors
    assert report.meta.default_statuses == "zh"
    assert report.meta.severity_priority_ids == {"Critical": "10000", "Info": "10003"}
    cfg = integration_config(site.flavour, project="CN")
    assert mapping.status_mapping(cfg, report.meta) == CHINESE_STATUSES
    assert mapping.desired_status(cfg, report.meta, "Processing") == "处理中"


async def test_no_flashduty_app_key_is_a_warning_not_an_error(cloud: FakeJira) -> None:
    report = await check(cloud)
    assert report.ok and report.warnings == [
        "no Flashduty app key: comments cannot be read from Flashduty and will not sync"]
    assert report.as_dict() == {"ok": True, "errors": [], "warnings": report.warnings, "notes": []}
