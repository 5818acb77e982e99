"""The seeded site: users, projects, create screens, workflows, priorities.

Documented for people in the package docstring; keep the two in step.
"""
from __future__ import annotations

from .model import (
    SELECT,
    TEXTAREA,
    TEXTFIELD,
    FieldDef,
    IssueType,
    Priority,
    Project,
    Status,
    Transition,
    User,
    Workflow,
)

# key -> (id, name, description): what mypermissions reports for each permission key.
PERMISSIONS: dict[str, tuple[str, str, str]] = {
    "BROWSE_PROJECTS": ("10", "Browse Projects", "Ability to browse projects and the issues within them."),
    "CREATE_ISSUES": ("11", "Create Issues", "Ability to create issues."),
    "EDIT_ISSUES": ("12", "Edit Issues", "Ability to edit issues."),
    "ASSIGN_ISSUES": ("13", "Assign Issues", "Ability to assign issues to other people."),
    "RESOLVE_ISSUES": ("14", "Resolve Issues", "Ability to resolve and reopen issues."),
    "ADD_COMMENTS": ("15", "Add Comments", "Ability to comment on issues."),
    "DELETE_ISSUES": ("16", "Delete Issues", "Ability to delete issues."),
    "ASSIGNABLE_USER": ("17", "Assignable User", "Users with this permission may be assigned to issues."),
    "CLOSE_ISSUES": ("18", "Close Issues", "Ability to close issues."),
    "LINK_ISSUES": ("21", "Link Issues", "Ability to link issues together."),
    "ADMINISTER_PROJECTS": ("23", "Administer Projects", "Ability to administer a project in Jira."),
    "MODIFY_REPORTER": ("30", "Modify Reporter", "Ability to modify the reporter when creating or editing an issue."),
    "TRANSITION_ISSUES": ("46", "Transition Issues", "Ability to transition issues."),
    "SCHEDULE_ISSUES": ("28", "Schedule Issues", "Ability to view or edit an issue's due date."),
    "EDIT_ALL_COMMENTS": ("34", "Edit All Comments", "Ability to edit all comments made on issues."),
    "EDIT_OWN_COMMENTS": ("35", "Edit Own Comments", "Ability to edit own comments made on issues."),
    "DELETE_ALL_COMMENTS": ("36", "Delete All Comments", "Ability to delete all comments made on issues."),
    "DELETE_OWN_COMMENTS": ("37", "Delete Own Comments", "Ability to delete own comments made on issues."),
}

CLOUD_ADMIN_ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5"
CLOUD_VIEWER_ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef6"
CLOUD_ALICE_ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef7"
SERVICE_ACCOUNT_ID = "712020:4b3c0b9e-8a37-4f0e-9d8b-1f7f7a0c5e21"
READONLY_SERVICE_ACCOUNT_ID = "712020:9d1f6a2c-3e4b-4c5d-8e7f-0a1b2c3d4e5f"
SERVICE_ACCOUNT_SCOPES = frozenset({"read:jira-work", "write:jira-work", "read:jira-user", "manage:jira-webhook"})
READONLY_SCOPES = frozenset({"read:jira-work", "read:jira-user"})


def users(flavour: str) -> list[User]:
    """Cloud: email + API token. Server/DC: username + password, or a PAT as Bearer (8.14+)."""
    cloud = flavour == "cloud"
    return [
        User(
            account_id=CLOUD_ADMIN_ACCOUNT_ID, name="admin", key="JIRAUSER10000",
            email="admin@example.com", display_name="Jira Admin",
            secret="cloud-token" if cloud else "secret", pat=None if cloud else "pat-token",
            permissions=frozenset(PERMISSIONS), admin=True,
        ),
        User(
            account_id=CLOUD_VIEWER_ACCOUNT_ID, name="viewer", key="JIRAUSER10001",
            email="viewer@example.com", display_name="Jira Viewer",
            secret="viewer-token" if cloud else "viewer", pat=None if cloud else "viewer-pat",
            permissions=frozenset({"BROWSE_PROJECTS"}),
        ),
        User(
            account_id=CLOUD_ALICE_ACCOUNT_ID, name="alice", key="JIRAUSER10002",
            email="alice@example.com", display_name="Alice Oncall",
            secret="alice-token" if cloud else "alice", pat=None if cloud else "alice-pat",
            permissions=frozenset(PERMISSIONS),
        ),
    ] + (_service_accounts() if cloud else [])


def _service_accounts() -> list[User]:
    """Cloud service accounts: their API tokens are always scoped, so they work only through the gateway."""
    return [
        User(
            account_id=SERVICE_ACCOUNT_ID, name="svc-jira-sync", key="svc-jira-sync",
            email="svc-jira-sync@serviceaccount.atlassian.com", display_name="jira-sync (service account)",
            secret="svc-token", pat=None, permissions=frozenset(PERMISSIONS),
            scopes=SERVICE_ACCOUNT_SCOPES, account_type="app",
        ),
        User(
            account_id=READONLY_SERVICE_ACCOUNT_ID, name="svc-readonly", key="svc-readonly",
            email="svc-readonly@serviceaccount.atlassian.com", display_name="read-only (service account)",
            secret="svc-readonly-token", pat=None, permissions=frozenset(PERMISSIONS),
            scopes=READONLY_SCOPES, account_type="app",
        ),
    ]


RESOLUTIONS = [
    {"id": "1", "name": "Fixed", "description": "A fix for this issue is checked into the tree and tested."},
    {"id": "2", "name": "Won't Fix", "description": "The problem described is an issue which will never be fixed."},
    {"id": "10000", "name": "Done", "description": "Work has been completed on this issue."},
]

STANDARD_PRIORITIES = [
    Priority("1", "Highest"), Priority("2", "High"), Priority("3", "Medium"),
    Priority("4", "Low"), Priority("5", "Lowest"),
]
CN_PRIORITIES = [Priority("10000", "紧急"), Priority("10001", "高"), Priority("10002", "中"), Priority("10003", "低")]


def _f(id: str, name: str, kind: str, schema: dict, **kw) -> FieldDef:
    return FieldDef(id=id, name=name, kind=kind, schema=schema, **kw)


PROJECT_F = _f("project", "Project", "project", {"type": "project", "system": "project"}, required=True)
ISSUETYPE_F = _f("issuetype", "Issue Type", "issuetype", {"type": "issuetype", "system": "issuetype"}, required=True)
SUMMARY_F = _f("summary", "Summary", "summary", {"type": "string", "system": "summary"}, required=True)
DESCRIPTION_F = _f("description", "Description", "description", {"type": "string", "system": "description"})
PRIORITY_F = _f("priority", "Priority", "priority", {"type": "priority", "system": "priority"}, has_default=True)
LABELS_F = _f(
    "labels", "Labels", "labels", {"type": "array", "items": "string", "system": "labels"},
    operations=("add", "set", "remove"),
)
REPORTER_F = _f(
    "reporter", "Reporter", "reporter", {"type": "user", "system": "reporter"}, required=True, has_default=True,
)
RESOLUTION_F = _f(
    "resolution", "Resolution", "resolution", {"type": "resolution", "system": "resolution"},
    required=True, allowed=RESOLUTIONS,
)


def _custom(num: int, name: str, kind: str, custom: str, type_: str = "string", **kw) -> FieldDef:
    return _f(f"customfield_{num}", name, kind, {"type": type_, "custom": custom, "customId": num}, **kw)


INCIDENT_ID_F = _custom(10050, "Incident ID", "textfield", TEXTFIELD)
INCIDENT_DETAILS_F = _custom(10051, "Incident details", "textarea", TEXTAREA)
TEAM_F = _custom(
    10052, "Team", "select", SELECT, type_="option",
    allowed=[
        {"id": "10100", "value": "SRE"}, {"id": "10101", "value": "Platform"}, {"id": "10102", "value": "Database"},
    ],
)
CUSTOMER_F = _custom(10060, "Customer", "textfield", TEXTFIELD, required=True)


def _screen(*fields: FieldDef) -> dict[str, FieldDef]:
    return {f.id: f for f in (PROJECT_F, ISSUETYPE_F, SUMMARY_F, *fields, REPORTER_F)}


def _simple_workflow(name: str, todo: Status, doing: Status, done: Status, names: tuple[str, str, str]) -> Workflow:
    # Global transitions ("any direction"), each named unlike its target status.
    return Workflow(name, todo, (
        Transition("11", names[0], todo, None, clears_resolution=True),
        Transition("21", names[1], doing, None, clears_resolution=True),
        Transition("31", names[2], done, None, sets_resolution="Done"),
    ))


def _flow_workflow() -> Workflow:
    open_, triage = Status("1", "Open", "new"), Status("10002", "Triage", "indeterminate")
    doing = Status("3", "In Progress", "indeterminate")
    resolved, closed = Status("5", "Resolved", "done"), Status("6", "Closed", "done")
    return Workflow("FLOW workflow", open_, (
        Transition("11", "Start Triage", triage, ("1",)),
        Transition("12", "Back to Open", open_, ("10002",)),
        Transition("21", "Start Progress", doing, ("10002",)),
        Transition("22", "Stop Progress", triage, ("3",)),
        Transition("31", "Resolve", resolved, ("3",), screen=(RESOLUTION_F,)),
        Transition("41", "Close", closed, ("5",)),
        Transition("51", "Reopen", open_, ("5", "6"), clears_resolution=True),
    ))


def _task(screen: dict[str, FieldDef]) -> IssueType:
    return IssueType("10001", "Task", "A small, distinct piece of work.", screen)


def projects() -> list[Project]:
    todo, doing = Status("10000", "To Do", "new"), Status("3", "In Progress", "indeterminate")
    done = Status("10001", "Done", "done")
    simple = _simple_workflow("Simple workflow", todo, doing, done, ("Back to To Do", "Start Progress", "Mark as Done"))
    ops_screen = _screen(DESCRIPTION_F, PRIORITY_F, LABELS_F, INCIDENT_ID_F, INCIDENT_DETAILS_F, TEAM_F)
    cn = _simple_workflow(
        "中文工作流", Status("10003", "待办", "new"), Status("10004", "处理中", "indeterminate"),
        Status("10005", "完成", "done"), ("退回待办", "开始处理", "标记完成"),
    )
    std = dict(priorities=STANDARD_PRIORITIES, default_priority="3")
    return [
        Project("10000", "OPS", "Operations", {
            "10001": _task(ops_screen),
            "10002": IssueType("10002", "Bug", "A problem or error.", ops_screen),
        }, simple, **std),
        Project("10001", "NOPRI", "No Priority", {"10001": _task(_screen(DESCRIPTION_F, LABELS_F))}, simple, **std),
        Project("10002", "REQ", "Required Fields", {
            "10001": _task(_screen(DESCRIPTION_F, PRIORITY_F, LABELS_F, CUSTOMER_F)),
        }, simple, **std),
        Project("10003", "FLOW", "Multi-step Workflow", {
            "10001": _task(_screen(DESCRIPTION_F, PRIORITY_F, LABELS_F)),
        }, _flow_workflow(), **std),
        Project("10004", "CN", "中文项目", {
            "10001": _task(_screen(DESCRIPTION_F, PRIORITY_F, LABELS_F)),
        }, cn, priorities=CN_PRIORITIES, default_priority="10002"),
    ]
