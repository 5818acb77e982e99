"""The emulator's in-memory data: users, projects, screens, workflows, issues, comments."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .text import to_plain

# Status categories as Jira keys them (ids and colours as in a stock site).
CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}

TEXTFIELD = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
TEXTAREA = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"
SELECT = "com.atlassian.jira.plugin.system.customfieldtypes:select"


@dataclass(slots=True)
class User:
    account_id: str  # Cloud
    name: str  # Server/DC username (also the key prefix)
    key: str  # Server/DC user key
    email: str
    display_name: str
    secret: str | None  # Cloud: API token; Server: password (None: revoked)
    pat: str | None  # Server/DC 8.14+: Personal Access Token (Bearer)
    permissions: frozenset[str]
    admin: bool = False  # in the Jira Administrators group (admin webhooks need it)
    scopes: frozenset[str] | None = None  # Cloud: a scoped API token's scopes; None = classic token
    token_expired: bool = False  # Cloud: the API token expired; Server/DC: the PAT expired
    account_type: str = "atlassian"  # Cloud: "app" for a service account


@dataclass(slots=True)
class Status:
    id: str
    name: str
    category: str  # "new" | "indeterminate" | "done"
    description: str = ""


@dataclass(slots=True)
class Transition:
    id: str
    name: str
    to: Status
    sources: tuple[str, ...] | None  # status ids it is available from; None = global ("any")
    screen: tuple["FieldDef", ...] = ()  # fields shown on the transition screen
    sets_resolution: str | None = None  # post function: resolution name set when no screen
    clears_resolution: bool = False


@dataclass(slots=True)
class Workflow:
    name: str
    initial: Status
    transitions: tuple[Transition, ...]

    @property
    def statuses(self) -> list[Status]:
        seen: dict[str, Status] = {self.initial.id: self.initial}
        for t in self.transitions:
            seen.setdefault(t.to.id, t.to)
        return list(seen.values())

    def available(self, status_id: str) -> list[Transition]:
        return [
            t for t in self.transitions
            if (t.sources is None and t.to.id != status_id) or (t.sources and status_id in t.sources)
        ]


@dataclass(slots=True)
class Priority:
    id: str
    name: str


@dataclass(slots=True)
class FieldDef:
    """One field as a screen shows it. `kind` drives value validation."""

    id: str
    name: str
    kind: str  # summary|description|priority|labels|reporter|project|issuetype|textfield|textarea|select|resolution
    schema: dict[str, Any]
    required: bool = False
    has_default: bool = False
    allowed: list[dict[str, Any]] = field(default_factory=list)  # option/resolution values
    operations: tuple[str, ...] = ("set",)


@dataclass(slots=True)
class IssueType:
    id: str
    name: str
    description: str
    screen: dict[str, FieldDef]  # create screen, field id -> def (edit screen = same minus project/issuetype)


@dataclass(slots=True)
class Project:
    id: str
    key: str
    name: str
    issue_types: dict[str, IssueType]
    workflow: Workflow
    priorities: list[Priority]
    default_priority: str | None
    old_keys: list[str] = field(default_factory=list)
    counter: int = 0

    def priority(self, *, id: str | None = None, name: str | None = None) -> Priority | None:
        for p in self.priorities:
            if (id is not None and p.id == id) or (name is not None and p.name == name):
                return p
        return None


@dataclass(slots=True)
class Comment:
    id: str
    body: Any  # as Jira stores it: an ADF doc (Cloud v3) or a wiki-markup string (v2)
    author: User
    created: float
    properties: list[dict[str, Any]] = field(default_factory=list)  # [{"key", "value"}]
    updated: float = 0.0  # 0: never edited (then `created`)
    update_author: User | None = None

    @property
    def text(self) -> str:
        return to_plain(self.body)


@dataclass(slots=True)
class ChangeItem:
    """One changed field in a change group, as Jira's changelog reports it."""

    field: str  # the field's name ("status", "priority", "Incident ID")
    field_id: str  # "status", "customfield_10050"
    fieldtype: str  # "jira" | "custom"
    from_: str | None
    from_string: str | None
    to: str | None
    to_string: str | None


@dataclass(slots=True)
class ChangeGroup:
    """One history entry: who changed what, when (`created`, epoch seconds)."""

    id: str
    author: User | None
    created: float
    items: list[ChangeItem]


@dataclass(frozen=True, slots=True)
class Doc:
    """What the search index knows about an issue (a snapshot: Cloud's index lags behind writes)."""

    id: str
    project_id: str
    issue_type_id: str
    status_id: str
    status_name: str  # lower case
    labels: frozenset[str]
    created: float
    updated: float


@dataclass(slots=True)
class Issue:
    id: str
    key: str
    project: Project
    issue_type: IssueType
    status: Status
    fields: dict[str, Any]  # settable fields: summary, description, priority, labels, reporter, customfield_*
    reporter: User
    created: float  # epoch seconds
    created_mono: float  # for search lag
    updated: float
    resolution: dict[str, Any] | None = None
    comments: list[Comment] = field(default_factory=list)
    old_keys: list[str] = field(default_factory=list)
    changelog: list[ChangeGroup] = field(default_factory=list)
    versions: list[tuple[float, Doc]] = field(default_factory=list)  # (monotonic time, snapshot), oldest first

    @property
    def doc(self) -> Doc:
        """The snapshot as of now (what a consistent search sees)."""
        return self.versions[-1][1]

    def snapshot(self) -> Doc:
        return Doc(self.id, self.project.id, self.issue_type.id, self.status.id, self.status.name.lower(),
                   frozenset(self.fields.get("labels") or ()), self.created, self.updated)

    @property
    def status_name(self) -> str:
        return self.status.name

    @property
    def status_id(self) -> str:
        return self.status.id

    @property
    def status_category(self) -> str:
        return self.status.category

    @property
    def priority_id(self) -> str | None:
        p = self.fields.get("priority")
        return p["id"] if p else None

    @property
    def labels(self) -> list[str]:
        return list(self.fields.get("labels") or [])

    @property
    def description_text(self) -> str:
        return to_plain(self.fields.get("description"))


class JiraHTTPError(Exception):
    """Raised by state operations; rendered as Jira's error envelope."""

    def __init__(
        self,
        status: int,
        messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {messages} {errors}")
        self.status = status
        self.messages = messages or []
        self.errors = errors or {}
        self.headers = headers or {}
