"""What a check against the live Jira learned about an integration's project (`jira_meta`).

Written by the setup check (`setup/checks.py`) when an integration is saved or re-checked,
and by the console's preview from what it just loaded; read by the sync, so that a
reconcile never asks Jira for metadata. Stored as JSON on the integration's row: unknown
keys from other versions are ignored, missing ones take the defaults below.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StatusMeta(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str
    category: str = "indeterminate"  # "new" | "indeterminate" | "done"


class JiraMeta(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_key: str | None = None
    project_id: str | None = None
    issue_type_id: str | None = None
    issue_type_name: str | None = None
    account: str | None = None  # display name of the integration's Jira user
    # who that user is in Jira's events: accountId (Cloud) or user name (Server/DC); changes it
    # made are our own echoes (two-way sync ignores them)
    account_id: str | None = None
    deployment: str | None = None  # "Cloud" | "Server" | "DataCenter"
    version: str | None = None
    checked_at: float | None = None
    # None = not checked: the priority is sent when the severity map names one
    priority_on_screen: bool | None = None
    severity_priority_ids: dict[str, str] = Field(default_factory=dict)  # severity -> priority id
    priorities: dict[str, str] = Field(default_factory=dict)  # priority id -> name
    text_fields: dict[str, str] = Field(default_factory=dict)  # field id -> "textfield" | "textarea"
    # True until a check says otherwise: the marker label is what finds a lost create again
    labels_on_screen: bool = True
    statuses: list[StatusMeta] = Field(default_factory=list)
    default_statuses: str | None = None  # "en" | "zh": which default status names apply

    @property
    def checked(self) -> bool:
        return self.checked_at is not None

    def status(self, status_id: str) -> StatusMeta | None:
        return next((s for s in self.statuses if s.id == status_id), None)

    def priority_name(self, priority_id: str | None) -> str | None:
        return self.priorities.get(priority_id or "", priority_id)

    def to_json(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True)
