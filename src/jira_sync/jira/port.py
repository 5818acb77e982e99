"""The Jira calls jira-sync needs, declared by the code that uses them.

Cloud vs Server/DC differences (API version, ADF vs wiki markup, search endpoints,
createmeta generations, auth) live behind this port in `jira/client.py`, nowhere else.
Every error a call raises is a `JiraError` that says whether retrying can help.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal, Protocol

from ..domain.issue import IssueDraft  # noqa: F401  (the port takes the domain's draft)


# ---------------------------------------------------------------- errors
class JiraError(Exception):
    """A Jira call failed. `message` is what to show a person (Jira's own words where it gave any)."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        error_messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.timed_out = timed_out  # no answer in time (what the metrics call a timeout)
        self.message = message
        self.status = status
        self.retry_after = retry_after  # seconds, from Retry-After, for the whole site
        # True when the request may have taken effect (timeout / 5xx / reset on a POST):
        # the caller must look before it writes again.
        self.outcome_unknown = outcome_unknown
        self.error_messages = error_messages or []
        self.errors = errors or {}


class JiraRetryableError(JiraError):
    """429, 5xx, timeouts, connection failures: try again later."""

    retryable = True


class JiraPermanentError(JiraError):
    """400 with errorMessages/errors, 404, 410: retrying the same request cannot help."""


class JiraNotFound(JiraPermanentError):
    """404/410: the project, issue or endpoint does not exist (or the account cannot see it).

    `endpoint_missing`: the answer was not Jira's own `{"errorMessages", "errors"}` body (e.g.
    Jersey's "null for uri"), so the site lacks the endpoint rather than the issue.
    """

    def __init__(self, message: str, *, endpoint_missing: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.endpoint_missing = endpoint_missing


class IssueDeleted(JiraPermanentError):
    """The linked issue is gone: neither its id nor its key finds it (deleted, or hidden)."""


class JiraAuthError(JiraPermanentError):
    """401/403: bad credentials, expired token, CAPTCHA required, missing permission.

    `reason` is one of: "bad_credentials", "token_expired_or_revoked", "captcha_required",
    "forbidden".
    """

    def __init__(self, message: str, *, reason: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reason = reason


class JiraConnectError(JiraRetryableError):
    """Host unreachable, DNS failure, TLS failure, or not a Jira at that URL.

    `reason` is one of: "unreachable", "tls", "timeout", "not_jira".
    """

    def __init__(self, message: str, *, reason: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reason = reason


# ---------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class IssueRef:
    id: str
    key: str


@dataclass(frozen=True, slots=True)
class IssueState:
    id: str
    key: str
    status_id: str
    status_name: str
    status_category: str  # "new" | "indeterminate" | "done"
    priority_id: str | None
    resolution: str | None = None  # the resolution's name, when the issue has one


@dataclass(frozen=True, slots=True)
class UpdatedIssue:
    """An issue a poll found updated, with who made its newest recorded change (two-way sync)."""

    id: str
    key: str
    updated: str  # Jira's `updated`, as it gives it
    last_change_by: str | None = None  # accountId (Cloud) / user name (Server/DC), from the changelog
    last_change_at: str | None = None  # that change group's `created`


@dataclass(frozen=True, slots=True)
class Transition:
    id: str
    name: str
    to_status_id: str
    to_status_name: str
    to_status_category: str
    # field id -> {"required": bool, "allowedValues": [...], "name": str, "schema": {...}}
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    text: str  # plain text of the body (ADF flattened on Cloud v3, raw wiki markup on v2)
    # Our own reference (`domain/comment.py`): from the mark in the body's link, else the
    # comment property "jira-sync" {"ref": ...}. Finds a comment whose POST answer was lost.
    ref: str | None = None
    author: str | None = None  # accountId (Cloud) or user name (Server/DC)
    author_name: str | None = None  # the author's display name


@dataclass(frozen=True, slots=True)
class Labelled:
    """An issue as read by id or key (from Jira's database, never the search index)."""

    ref: IssueRef
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServerInfo:
    deployment_type: str  # "Cloud" | "Server" | "DataCenter"
    version: str
    version_numbers: tuple[int, ...]
    base_url: str


@dataclass(frozen=True, slots=True)
class Myself:
    account_id: str | None  # Cloud
    name: str | None  # Server/DC user name
    display_name: str
    email: str | None


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    subtask: bool = False


@dataclass(frozen=True, slots=True)
class FieldMeta:
    """One field of an issue type's create screen (either createmeta generation)."""

    id: str  # "summary", "priority", "customfield_10050", ...
    name: str
    required: bool
    has_default: bool
    schema_type: str  # schema.type: "string", "priority", "array", "option", ...
    custom_type: str | None  # schema.custom, e.g. "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
    system: str | None  # schema.system, e.g. "description"
    allowed_values: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text_kind(self) -> Literal["textfield", "textarea"] | None:
        """'textfield' / 'textarea' for the text fields a mapping may target, else None."""
        if self.custom_type and self.custom_type.endswith(":textfield"):
            return "textfield"
        if self.custom_type and self.custom_type.endswith(":textarea"):
            return "textarea"
        return None


@dataclass(frozen=True, slots=True)
class StatusInfo:
    id: str
    name: str
    category: str  # "new" | "indeterminate" | "done"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request/response, secrets removed, for an incident's history."""

    method: str
    path: str
    request_body: Any
    status: int | None  # None when no answer came (timeout, connection error)
    response_body: Any
    duration_ms: float


ExchangeHook = Callable[[Exchange], Awaitable[None] | None]


# ---------------------------------------------------------------- the ports
class SyncJira(Protocol):
    """What a reconcile needs of one Jira site: the calls that write an incident's issue."""

    async def create_issue(self, draft: IssueDraft) -> IssueRef: ...
    async def find_issue_by_label(self, project_key: str, label: str) -> IssueRef | None:
        """One search for the label: the oldest hit. The index may lag (Cloud: any amount)."""
    async def newest_issue_key(self, project_key: str, created_minutes_ago: int = 0) -> str | None:
        """The highest key the (lagging) index knows in the project, among issues created at
        least `created_minutes_ago` minutes ago by Jira's clock."""
    async def read_labels(self, id_or_key: str) -> Labelled | None:
        """The issue's labels, read by id or key (consistent); None when Jira answers 404.
        Raises JiraNotFound(endpoint_missing=True) when the site lacks the endpoint."""
    async def get_issue(self, id_or_key: str) -> IssueState: ...
    async def set_priority(self, issue_id: str, priority_id: str) -> None: ...
    async def transitions(self, issue_id: str) -> list[Transition]: ...
    async def transition(self, issue_id: str, transition_id: str, fields: dict[str, Any] | None = None) -> None: ...
    async def add_comment(self, issue_id: str, markdown: str, ref: str) -> Comment: ...
    async def comments(self, issue_id: str) -> list[Comment]: ...  # all pages, with their refs
    async def myself(self) -> Myself:
        """Who the credentials sign in as: also the probe that tells a paused site is back."""
    async def aclose(self) -> None: ...


class InboundJira(Protocol):
    """What two-way sync asks Jira: issues updated lately (with their changelog), and admin webhooks."""

    async def updated_issues(self, project_key: str, minutes: int) -> list[UpdatedIssue]:
        """Issues of the project updated in the last `minutes` minutes by Jira's clock (JQL has
        minute precision: callers overlap their windows), each with its newest change's author."""
    async def register_webhook(self, name: str, url: str, jql: str, secret: str | None) -> str:
        """An admin webhook for issue and comment events (Jira administrators only); its id."""


class SetupJira(Protocol):
    """What setting an integration up asks Jira: identity, projects, screens, workflows."""

    async def server_info(self) -> ServerInfo: ...
    async def myself(self) -> Myself: ...
    async def projects(self, query: str = "", limit: int = 50) -> list[Project]: ...
    async def project(self, key_or_id: str) -> Project: ...
    async def issue_types(self, project_key: str) -> list[IssueType]: ...
    async def create_fields(self, project_key: str, issue_type_id: str) -> list[FieldMeta]: ...
    async def statuses(self, project_key: str, issue_type_id: str) -> list[StatusInfo]: ...
    async def my_permissions(self, project_key: str, permissions: list[str]) -> dict[str, bool]: ...
    async def create_issue(self, draft: IssueDraft) -> IssueRef: ...  # the console's test issue
    def route_note(self) -> str | None:
        """How API calls reach the site when that is worth saying (Cloud's API gateway), else None."""
    async def aclose(self) -> None: ...


class JiraPort(SyncJira, SetupJira, InboundJira, Protocol):
    """Both: what `JiraClient` implements."""
