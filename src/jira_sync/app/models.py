"""The typed answers of the application services: what the API returns and pages show."""
from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Interval
from pydantic import BaseModel, Field

# Flashduty signs nothing: the integration's secret travels in this custom header (or as
# `?secret=` in the URL for senders that cannot set headers).
SECRET_HEADER = "X-Jira-Sync-Secret"

# Integration ids and list cursors are database row ids: PostgreSQL's `integer` is 32 bits.
# Every route and body that takes one is bounded by this type, so an id past it is a 422
# that names the limit, never a driver error.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]


class WebhookInfo(BaseModel):
    url: str
    header: str = SECRET_HEADER
    secret: str | None = Field(default=None, description="shown once, when made; stored only as a hash")
    url_with_secret: str | None = None
    previous_secret_valid_until: float | None = Field(
        default=None, description="after a rotation: until when (unix seconds) the secret before it is still "
        "accepted (SECRET_GRACE_HOURS), so deliveries go on while Flashduty's header is changed")
    reachability_warning: str | None = Field(
        default=None, description="set when the URL is loopback or private and PUBLIC_URL is unset: Flashduty's "
        "cloud cannot call it")


class CheckResult(BaseModel):
    ok: bool
    errors: list[str]
    warnings: list[str]
    notes: list[str] = Field(default_factory=list, description="worth knowing, e.g. that calls go through Cloud's API gateway")


class SiteStateView(BaseModel):
    """Whether jira-sync is sending to a Jira site (or one account on it), and if not, why."""

    key: str = Field(description="the site's base URL, or '<site> as <account>' for refused credentials")
    url: str
    account: str | None = Field(default=None, description="set when that account's credentials were refused")
    state: str = Field(description="ok | paused | rate_limited")
    reason: str | None = Field(default=None, description="unreachable | credentials | rate_limited")
    message: str | None = Field(default=None, description="why, in Jira's words where it gave any")
    since: float | None = None
    next_probe_at: float | None = Field(
        default=None, description="when the site is asked again; null: not probed (a Retry-After ends by itself, "
        "a refused password waits for new credentials)")
    resume_at: float | None = Field(default=None, description="Retry-After: nothing is sent before this")
    integration_ids: list[int] = Field(default_factory=list, description="in /api/sites: the integrations using it")


class RetriedView(BaseModel):
    retried: int = Field(description="failed incidents queued again")


class IntegrationView(BaseModel):
    id: int
    name: str
    enabled: bool
    config: dict[str, Any] = Field(description="the configuration, without its secrets")
    jira_meta: dict[str, Any] = Field(description="what the last check learned from Jira")
    webhook: WebhookInfo
    created_at: float
    updated_at: float
    last_event_at: float | None
    incidents_synced: int
    failed: int
    last_error: str | None
    site: SiteStateView = Field(description="its Jira site (and account): ok, or paused and why")
    warnings: list[str] = Field(default_factory=list, description="what this integration silently does not do, "
                                "and the setting that changes it (e.g. no Flashduty app key: comments are skipped)")


class SavedIntegration(IntegrationView):
    check: CheckResult


class JiraLinkView(BaseModel):
    issue_id: str | None
    key: str | None
    browse_url: str | None
    status: str | None
    priority_id: str | None
    priority: str | None = Field(description="the priority's name, from the last check")
    create_state: str | None = Field(description="null (no issue yet) | creating (a create was sent; while the "
                                     "incident is pending, Jira has not yet shown whether it landed: last_error "
                                     "says why) | created | deleted (found deleted in Jira: POST .../new-issue)")


class IncidentView(BaseModel):
    incident_id: str
    title: str
    severity: str
    progress: str
    activated: bool
    state: str = Field(description="idle | pending | in_flight | failed")
    attempts: int
    last_error: str | None
    next_attempt_at: float | None
    jira: JiraLinkView
    last_synced_at: float | None
    updated_at: float


class IncidentPage(BaseModel):
    items: list[IncidentView]
    next_before: int | None = Field(description="cursor for the next page, or null on the last")


class EventView(BaseModel):
    event_id: str
    event_type: str
    event_time: int
    received_at: float
    outcome: str = Field(description="queued | queued_comment_skipped | stored | out_of_channel_scope | ...")
    note: str | None = Field(default=None, description="what the outcome means when something was skipped, "
                             "and the setting that changes it")


class ExchangeView(BaseModel):
    id: int
    at: float
    method: str
    path: str
    request_body: Any
    status: int | None
    response_body: Any
    duration_ms: float


class JiraEventView(BaseModel):
    """Two-way sync on the timeline: what Jira told us (source webhook | poll) and what the sync
    did about it (source sync: applied, echo, not_mapped, conflict, refused)."""

    id: int
    source: str
    kind: str
    actor: str | None
    received_at: float
    outcome: str
    note: str | None


class IncidentDetail(IncidentView):
    snapshot: dict[str, Any]
    events: list[EventView]
    history: list[ExchangeView] = Field(description="every Jira request with its answer, secrets removed")
    jira_events: list[JiraEventView] = Field(default_factory=list,
                                             description="two-way sync: Jira's events and what they did")


class QueueStatsView(BaseModel):
    waiting: int
    in_flight: int
    failed: int
    linked: int
    oldest_waiting_age_seconds: float
    all_synced: bool


class ErrorAnswer(BaseModel):
    """Every 4xx and 5xx of the REST API."""

    detail: Any = Field(description="what is wrong: a sentence; a list of {loc, msg, type} for invalid fields; "
                        "or {error, problem, message} when Jira failed")


# ------------------------------------------------------------------ /api/jira look-ups
class ConnectionCheck(BaseModel):
    ok: bool
    problem: str | None = Field(description="unreachable, tls, timeout, not_jira, wrong_platform, bad_credentials, "
                                "token_expired_or_revoked, captcha_required, forbidden, jira_error")
    message: str
    deployment: str | None
    version: str | None
    account: str | None
    api_route: str | None = Field(default=None, description="Cloud: `site`, or `gateway` for a scoped token or a "
                                  "service account (calls go through the Atlassian API gateway)")


class JiraItem(BaseModel):
    """Something Jira lists by id and name; also a priority."""

    id: str
    name: str


class ProjectItem(JiraItem):
    key: str


class IssueTypeItem(JiraItem):
    subtask: bool


class PriorityChoices(BaseModel):
    available: bool
    priorities: list[JiraItem]
    defaults: dict[str, str] = Field(default_factory=dict, description="severity -> priority id chosen by the "
                                     "priorities' names (Highest…Lowest, Blocker…Trivial, 紧急/高/中/低, P1…P5)")
    reason: str | None


class StatusItem(JiraItem):
    category: str = Field(description="new | indeterminate | done")


class StatusChoices(BaseModel):
    statuses: list[StatusItem]
    defaults: dict[str, str] = Field(description="progress -> status name; empty where the workflow has no default")
    language: str


class TextFieldItem(JiraItem):
    kind: str


class RequiredFieldItem(JiraItem):
    has_default: bool
    text: bool


# ------------------------------------------------------------------ webhooks, health
class WebhookAnswer(BaseModel):
    status: str = Field(description="accepted | duplicate")
    event_id: str
    incident_id: str | None = None
    sync: str | None = Field(default=None, description="queued, or why the trigger did not fire")
    note: str | None = None
    repaired: list[str] | None = Field(default=None, description="what was changed to store odd free text "
                                       "(lone surrogates, NUL, over-long words); absent when nothing was")


class JiraWebhookAnswer(BaseModel):
    status: str = Field(description="queued | duplicate | not_linked | echo | stored")
    issue: str | None = None


class JiraWebhookSetup(BaseModel):
    """Jira's admin webhook for two-way sync: what to enter in Jira (or what was registered)."""

    url: str = Field(description="the URL to give Jira (Server/DC 7.x-8.x: it carries the secret, as they sign nothing)")
    secret: str = Field(description="the webhook's secret (Jira signs each body with it: X-Hub-Signature); shown once")
    events: list[str]
    jql: str = Field(description="the filter that scopes the webhook to this integration's project")
    registered: bool = Field(description="jira-sync registered it in Jira (needs a Jira administrator)")
    webhook_id: str | None = None
    steps: list[str] = Field(description="how to enter it by hand in Jira's administration")


class TwoWayStatus(BaseModel):
    enabled: bool = Field(description="a field syncs both ways")
    fields: dict[str, dict[str, str]]
    poll_seconds: float = Field(description="0 = polling off")
    webhook_url: str
    webhook_secret_set: bool
    last_poll_at: float | None = None
    last_poll_error: str | None = None
    last_poll: dict[str, Any] | None = None
    next_poll_at: float | None = None


class AppKeyCheck(BaseModel):
    may_write: bool
    message: str
    member: str | None = Field(default=None, description="who the app key acts as in Flashduty")


class WebhookRefusal(BaseModel):
    error: str
    message: str


class Health(BaseModel):
    status: str = Field(description="ok | unhealthy")
    database: str
    queue: QueueStatsView | None = None
