"""Check an integration against the live Jira before it is saved.

Everything that would otherwise fail at 3 a.m. is said now, by name: credentials, wrong
platform type, project and issue type, priority on the screen, mapped targets that are not
text fields, required fields nobody fills, unknown status names, missing permissions.
What it learns (ids, field kinds, statuses) is kept as the integration's `jira_meta`, so the
sync itself never asks for metadata.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..domain.integration import IntegrationConfig, StatusMapping
from ..domain.jira_meta import JiraMeta, StatusMeta
from ..jira.port import (
    FieldMeta,
    IssueType,
    JiraAuthError,
    JiraConnectError,
    JiraError,
    JiraNotFound,
    SetupJira,
)
from ..jira.site import platform_mismatch
from .lookups import Screen, default_statuses

PERMISSIONS = ["BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "ADD_COMMENTS"]


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meta: JiraMeta = field(default_factory=JiraMeta)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a problem (e.g. the API route)
    # error -> the part of the configuration it is about ("project", "severity_map.Critical",
    # "field_map.0", ...): the console shows each error at its field
    where: dict[str, str] = field(default_factory=dict)

    def error(self, message: str, at: str | None = None) -> None:
        self.errors.append(message)
        if at is not None:
            self.where[message] = at

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "errors": self.errors, "warnings": self.warnings, "notes": self.notes}


async def check_integration(cfg: IntegrationConfig, jira: SetupJira, *, raise_transient: bool = False) -> CheckReport:
    """`raise_transient`: a failure that retrying can cure (Jira down, 429) is raised instead
    of reported, for the sync, which checks an integration saved unchecked (sync/learn.py)."""
    report = CheckReport()
    try:
        await _check(cfg, jira, report)
    except JiraError as exc:
        if raise_transient and exc.retryable:
            raise
        auth = isinstance(exc, (JiraAuthError, JiraConnectError))
        report.errors.append(exc.message if auth else f"Jira answered: {exc.message}")
    note = jira.route_note()
    if note:
        report.notes.append(note)
    if cfg.flashduty.app_key is None:
        report.warnings.append("no Flashduty app key: comments cannot be read from Flashduty and will not sync")
    return report


async def _check(cfg: IntegrationConfig, jira: SetupJira, report: CheckReport) -> None:
    info = await jira.server_info()
    mismatch = platform_mismatch(info, cfg.jira.platform, cfg.jira.url)
    if mismatch is not None:
        report.errors.append(mismatch)
        return
    me = await jira.myself()
    try:
        project = await jira.project(cfg.project)
    except JiraNotFound as exc:
        report.error(f"Jira answered: {exc.message}", at="project")
        return
    # before the create metadata: Jira lists no issue types at all to an account that may
    # not create issues, which would otherwise read as "issue type not available"
    try:
        perms = await jira.my_permissions(project.key, PERMISSIONS)
    except JiraNotFound:
        # some Jira-compatible servers lack the endpoint: say so, and let Jira's answers to the
        # sync's own requests name any permission that is missing
        report.warnings.append("could not check the account's permissions: this Jira has no "
                               "/mypermissions endpoint (404); a missing permission will show on the first sync")
        perms = dict.fromkeys(PERMISSIONS, True)
    missing = [p for p in PERMISSIONS if not perms.get(p, False)]
    if missing:
        report.errors.append(f"the account {me.display_name} lacks these permissions in {project.key}: {', '.join(missing)}")
        if "CREATE_ISSUES" in missing:
            return
    issue_type = _pick_issue_type(await jira.issue_types(project.key), cfg.issue_type, report)
    if issue_type is None:
        return
    fields = {f.id: f for f in await jira.create_fields(project.key, issue_type.id)}
    report.meta = JiraMeta(
        project_key=project.key, project_id=project.id, issue_type_id=issue_type.id, issue_type_name=issue_type.name,
        account=me.display_name, account_id=me.account_id or me.name, deployment=info.deployment_type,
        version=info.version, checked_at=time.time(),
    )
    _check_priority(cfg, fields, report)
    _check_field_map(cfg, fields, report)
    _check_required(cfg, fields, report)
    report.meta.labels_on_screen = "labels" in fields
    if "labels" not in fields:
        report.warnings.append(
            "the Labels field is not on this issue type's create screen: the service cannot mark issues with "
            "flashduty-<incident id>, so a create whose answer is lost could not be found again"
        )
    await _check_statuses(cfg, jira, project.key, issue_type.id, report)


def _pick_issue_type(types: list[IssueType], wanted: str, report: CheckReport) -> IssueType | None:
    for it in types:
        if it.id == wanted or it.name.casefold() == wanted.casefold():
            return it
    names = ", ".join(f"{t.name} ({t.id})" for t in types) or "none"
    report.error(f"issue type {wanted!r} is not available in this project; available: {names}", at="issue_type")
    return None


def _check_priority(cfg: IntegrationConfig, fields: dict[str, FieldMeta], report: CheckReport) -> None:
    priority = fields.get("priority")
    report.meta.priority_on_screen = priority is not None
    if not cfg.severity_map:
        return
    if priority is None:
        report.error(
            f"issue type {report.meta.issue_type_name} has no Priority field on its create screen: "
            "severity mapping cannot be configured (remove it, or add Priority to the screen)", at="severity_map"
        )
        return
    allowed = {str(v.get("id")): str(v.get("name", "")) for v in priority.allowed_values}
    resolved: dict[str, str] = {}
    for severity, value in cfg.severity_map.items():
        match = value if value in allowed else next((i for i, n in allowed.items() if n.casefold() == value.casefold()), None)
        if match is None:
            report.error(f"priority {value!r} (for {severity.value}) is not one of: {', '.join(allowed.values())}",
                         at=f"severity_map.{severity.value}")
        else:
            resolved[severity.value] = match
    report.meta.severity_priority_ids = resolved
    report.meta.priorities = allowed


def _check_field_map(cfg: IntegrationConfig, fields: dict[str, FieldMeta], report: CheckReport) -> None:
    kinds: dict[str, str] = {}
    for i, m in enumerate(cfg.field_map):
        f = fields.get(m.target)
        if f is None:
            report.error(f"field {m.target} is not on the create screen of this issue type", at=f"field_map.{i}")
        elif f.text_kind is None:
            report.error(f"field {f.name!r} ({f.id}) is not a text field: only text fields can be mapped",
                         at=f"field_map.{i}")
        else:
            kinds[f.id] = f.text_kind
    report.meta.text_fields = kinds


def _check_required(cfg: IntegrationConfig, fields: dict[str, FieldMeta], report: CheckReport) -> None:
    screen = Screen(list(fields.values()))
    for gap in screen.required_gaps(cfg.field_map, priority_mapped=bool(cfg.severity_map)):
        if gap["mapping"] is None:
            report.error(f"required field {gap['name']!r} ({gap['id']}) has no mapping and no default: Jira would "
                         "refuse to create issues", at="field_map")
        else:
            report.error(f"required field {gap['name']!r} ({gap['id']}) is filled only from {gap['source']}: Jira "
                         f"would refuse to create the issue of every incident without it. Give the mapping a default "
                         "value (used when the incident has none)", at=f"field_map.{gap['mapping']}")


async def _check_statuses(cfg: IntegrationConfig, jira: SetupJira, project: str, issue_type_id: str, report: CheckReport) -> None:
    statuses = await jira.statuses(project, issue_type_id)
    report.meta.statuses = [StatusMeta(id=s.id, name=s.name, category=s.category) for s in statuses]
    known = {s.name.casefold() for s in statuses}

    def missing(m: StatusMapping) -> list[tuple[str, str]]:
        pairs = (("Triggered", m.triggered), ("Processing", m.processing), ("Closed", m.closed))
        return [(label, name) for label, name in pairs if name.casefold() not in known]

    mapping = cfg.status_map
    if mapping is None:  # defaults: English, or Chinese where the workflow speaks it
        mapping, report.meta.default_statuses = default_statuses(statuses)
    available = ", ".join(s.name for s in statuses)
    for label, name in missing(mapping):
        report.error(f"status {name!r} (for {label}) is not in this project's workflow; available: {available}",
                     at=f"status_map.{label.lower()}")
