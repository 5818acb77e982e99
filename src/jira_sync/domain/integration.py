"""An integration: one Jira connection plus the seed's configuration (step 1 and step 2).

Pure pydantic models: validation of shape lives here; validation against a live Jira
(project exists, priority on the screen, ...) lives in `sync/checks.py`.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit
from enum import StrEnum
from typing import Annotated, Literal

from annotated_types import Interval

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from .conditions import Condition
from .incident import Severity

ChannelId = Annotated[int, Interval(ge=-(2**63), le=2**63 - 1)]  # int64, as Flashduty sends them


class JiraPlatform(StrEnum):
    CLOUD = "cloud"
    SERVER = "server"  # Server and Data Center 7.x-8.x (and later)


class JiraAuthKind(StrEnum):
    BASIC = "basic"  # Cloud: email + API token; Server/DC: username + password
    PAT = "pat"  # Data Center 8.14+: Authorization: Bearer <personal access token>


def base_url(text: str) -> str:
    """A Jira base URL: scheme, host, optional port and context path, nothing else.

    A query, fragment or user-info would let the text choose where requests go (`?x=`
    makes every API path after it part of a query, so any path on the host could be
    asked for), and credentials belong in their own fields, encrypted."""
    v = text.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in v):
        raise ValueError("must not contain spaces or control characters")
    if not (v.lower().startswith("https://") or v.lower().startswith("http://")):
        raise ValueError("must start with https:// or http://")
    parts = urlsplit(v)
    if "?" in v or "#" in v:
        raise ValueError("must be a base URL: no query (?...) or fragment (#...)")
    if "@" in parts.netloc:
        raise ValueError("must not carry a user name or password: use the username and secret fields")
    try:
        parts.port  # noqa: B018  (raises for a port that is not 0-65535)
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("has no host name")
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path}".rstrip("/")


class JiraConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: JiraPlatform
    url: str = Field(min_length=1, description="Base URL, e.g. https://your-domain.atlassian.net")
    username: str = Field(default="", description="Email on Cloud, user name on Server/DC")
    secret: SecretStr = Field(description="API token (Cloud), password (Server/DC) or PAT")
    auth: JiraAuthKind = JiraAuthKind.BASIC
    verify_tls: bool = True
    ca_bundle: str | None = Field(default=None, description="PEM text of extra CA certificates")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return base_url(v)

    @property
    def account_key(self) -> tuple[str, str, str]:
        """Who asks Jira: site, user and a hash of the secret (another password or token for
        the same user may see other projects). A key for caching Jira's answers per account,
        holding no secret."""
        return self.url, self.username, hashlib.sha256(self.secret.get_secret_value().encode()).hexdigest()

    @model_validator(mode="after")
    def _auth(self) -> "JiraConnection":
        if self.ca_bundle is not None and not self.ca_bundle.isascii():
            raise ValueError("ca_bundle is PEM text, which is ASCII: check what was pasted")
        secret = self.secret.get_secret_value()
        if self.auth is JiraAuthKind.PAT and not (secret.isascii() and secret.isprintable()):
            # it travels as an HTTP header value, which is ASCII
            raise ValueError("a personal access token is printable ASCII: check what was pasted")
        if self.auth is JiraAuthKind.PAT and self.platform is JiraPlatform.CLOUD:
            raise ValueError("personal access tokens are a Server/Data Center feature; Cloud uses email + API token")
        if self.auth is JiraAuthKind.BASIC and not self.username:
            raise ValueError("username is required (the account email on Cloud)")
        return self


class StatusMapping(BaseModel):
    """Flashduty progress -> Jira status name. All three, or none (`status_map: null`): then
    the defaults, To Do / In Progress / Done, or 待办 / 处理中 / 完成 on a Chinese Jira."""

    model_config = ConfigDict(extra="forbid")

    triggered: str = Field(min_length=1)
    processing: str = Field(min_length=1)
    closed: str = Field(min_length=1)

    def for_progress(self, progress: str) -> str | None:
        return {"Triggered": self.triggered, "Processing": self.processing, "Closed": self.closed}.get(progress)


DEFAULT_STATUSES = StatusMapping(triggered="To Do", processing="In Progress", closed="Done")
CHINESE_STATUSES = StatusMapping(triggered="待办", processing="处理中", closed="完成")


FieldSource = Literal["label", "labels", "field", "incident_id", "incident_link"]


class FieldMapping(BaseModel):
    """One incident value -> one Jira text field (seed: text type fields only)."""

    model_config = ConfigDict(extra="forbid")

    source: FieldSource
    name: str | None = Field(default=None, description="label name or custom field name, for label/field")
    target: str = Field(min_length=1, description="Jira field id, e.g. customfield_10050")
    default: str | None = Field(
        default=None, max_length=32767,
        description="sent when the incident gives no value (a label or custom field it lacks, no labels at all); "
        "needed when the target is a field Jira requires, or such incidents could not be created")

    @model_validator(mode="after")
    def _name(self) -> "FieldMapping":
        if self.source in ("label", "field") and not self.name:
            raise ValueError(f"source {self.source!r} needs a name")
        if self.default is not None and not self.default.strip():
            self.default = None  # a blank default would only blank the field
        return self


class FlashdutyApi(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://api.flashcat.cloud"
    app_key: SecretStr | None = None
    # Recovery of missed webhooks through the Open API (sync/recovery.py): on whenever an app
    # key is set, unless switched off here.
    recover_missed: bool = True
    webhook_integration_id: int | None = Field(
        default=None, ge=1,
        description="Flashduty's id of the Incident Webhook integration that calls us (optional): recovery then "
        "asks Flashduty for that integration's failed deliveries only. Without it, every failed delivery of the "
        "account is read and ours are told apart by our webhook secret.")
    # Issue 11: when the issue is created, the incident gets a comment naming it (with a link),
    # marked so it never comes back to Jira. Needs the app key; on by default when one is set.
    comment_issue_link: bool = True


Direction = Literal["one_way", "two_way"]
Owner = Literal["flashduty", "jira"]


class FieldSync(BaseModel):
    """One field's direction: Flashduty -> Jira only (the default), or both ways. `owner` is the
    side whose value wins when both changed since the last sync (a conflict)."""

    model_config = ConfigDict(extra="forbid")

    direction: Direction = "one_way"
    owner: Owner = "flashduty"

    @property
    def two_way(self) -> bool:
        return self.direction == "two_way"


class TwoWaySync(BaseModel):
    """What flows back from Jira to the Flashduty incident (issue 12), per field; off by default.
    Title, description and labels are never synced back."""

    model_config = ConfigDict(extra="forbid")

    status: FieldSync = Field(default_factory=FieldSync)
    comments: FieldSync = Field(default_factory=FieldSync)
    priority: FieldSync = Field(default_factory=FieldSync, description="Jira priority -> incident severity")
    poll_seconds: int | None = Field(
        default=None, ge=0, le=86400,
        description="how often linked issues are polled for changes a webhook did not bring; None = the "
        "platform's default (Server/DC 60 s, Cloud 600 s), 0 = never")

    @property
    def any(self) -> bool:
        return self.status.two_way or self.comments.two_way or self.priority.two_way

    def poll_interval(self, platform: "JiraPlatform") -> float:
        if not self.any:
            return 0.0
        if self.poll_seconds is not None:
            return float(self.poll_seconds)
        # Server/DC 7.x-8.x neither sign nor retry webhooks: polling is the main path there;
        # on Cloud (signed, retried ~30 min) it is a slower safety net
        return 60.0 if platform is JiraPlatform.SERVER else 600.0


def two_way_problems(cfg: "IntegrationConfig") -> list[str]:
    """Why a two-way setting cannot work with the rest of the configuration (none: it can).
    Not a model validator: stored rows are validated without their app key."""
    problems = []
    key = cfg.flashduty.app_key
    if cfg.two_way.any and (key is None or not key.get_secret_value().strip()):
        problems.append("two-way sync writes to the Flashduty incident: set flashduty.app_key "
                        "(an app key whose member may manage incidents)")
    if cfg.two_way.priority.two_way and not cfg.severity_map:
        problems.append("priority -> severity needs a severity_map to reverse")
    return problems


class IntegrationConfig(BaseModel):
    """Everything the seed's two setup steps ask for."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    jira: JiraConnection
    trigger: Literal["automatic", "manual"] = "automatic"
    conditions: list[list[Condition]] = Field(
        default_factory=list, description="automatic mode: groups ORed, conditions ANDed; empty = every incident"
    )
    project: str = Field(min_length=1, description="Jira project key (or id)")
    issue_type: str = Field(min_length=1, description="Jira issue type id (or name)")
    channels: list[ChannelId] = Field(default_factory=list, description="Flashduty channel ids; empty = all channels")
    severity_map: dict[Severity, str] | None = Field(
        default=None, description="Critical/Warning/Info -> Jira priority id or name"
    )
    status_map: StatusMapping | None = Field(
        default=None, description="all three statuses, or null for the defaults (English or Chinese, as the workflow has)"
    )
    field_map: list[FieldMapping] = Field(default_factory=list)
    flashduty: FlashdutyApi = Field(default_factory=FlashdutyApi)
    two_way: TwoWaySync = Field(default_factory=TwoWaySync)
