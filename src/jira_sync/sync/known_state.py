"""Remembering what Jira told us, so a steady-state change costs one request.

`move_to_status` asks for the issue's status and the transitions available from it.
Both are predictable once seen: we recorded the status we last moved the issue to, and
a workflow offers the same transitions from the same status to every issue of an issue
type. `RememberingJira` answers those two reads from memory and passes everything else
through. If the memory was wrong (a person moved the issue in Jira, or the workflow was
edited), Jira refuses the transition and the caller tries once more without memory.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ..domain.issue import issue_number
from ..domain.jira_meta import JiraMeta
from ..jira.port import IssueState, StatusInfo, SyncJira, Transition
from ..store.incidents import JiraLink


@dataclass
class WorkflowMemory:
    """Per integration (and configuration version): its workflow as seen so far."""

    transitions_from: dict[str, list[Transition]] = field(default_factory=dict)  # status id -> transitions
    initial_status: StatusInfo | None = None  # where new issues start

    def forget(self) -> None:
        self.transitions_from.clear()
        self.initial_status = None


@dataclass
class SiteMemory:
    """Per integration (and configuration version): what its Jira showed about its issues."""

    # project key -> the highest issue number seen there: every issue made later is numbered
    # above it, so it is where a look for a lost create starts reading (sync/adopt.py)
    highest: dict[str, int] = field(default_factory=dict)
    # this Jira answered 404 for an issue by id and found it by key (some Jira-compatible
    # servers): address issues by key from now on
    by_key: bool = False
    # check=false: the names the first sync resolved (sync/learn.py), or why it could not
    learned: JiraMeta | None = None
    refused: tuple[float, str] | None = None  # (when, the check's errors)
    learning: asyncio.Lock = field(default_factory=asyncio.Lock)
    # two-way sync: who the integration's account is in Jira's events (accountId / user name)
    identity: str | None = None

    def saw(self, project_key: str, key: str) -> None:
        number = issue_number(key)
        if number is not None and number > self.highest.get(project_key, 0):
            self.highest[project_key] = number

    def refused_lately(self, within: float) -> str | None:
        if self.refused is not None and time.time() - self.refused[0] < within:
            return self.refused[1]
        return None


class RememberingJira:
    """A SyncJira view of one issue whose status may already be known."""

    def __init__(self, inner: SyncJira, memory: WorkflowMemory, known: StatusInfo | None) -> None:
        self._inner = inner
        self._memory = memory
        self.known = known
        self.key: str | None = None  # the issue's current key, when Jira was asked
        self.first_seen: StatusInfo | None = None  # the status Jira reported, when it was asked

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get_issue(self, id_or_key: str) -> IssueState:
        if self.known is not None:
            k = self.known
            return IssueState(id_or_key, self.key or "", k.id, k.name, k.category, None)
        state = await self._inner.get_issue(id_or_key)
        self.known = self.first_seen = StatusInfo(state.status_id, state.status_name, state.status_category)
        self.key = state.key
        return state

    async def transitions(self, issue_id: str) -> list[Transition]:
        here = self.known.id if self.known else None
        if here is not None and here in self._memory.transitions_from:
            return self._memory.transitions_from[here]
        options = await self._inner.transitions(issue_id)
        if here is not None:
            self._memory.transitions_from[here] = options
        return options

    async def transition(self, issue_id: str, transition_id: str, fields: dict[str, Any] | None = None) -> None:
        options = self._memory.transitions_from.get(self.known.id, []) if self.known else []
        await self._inner.transition(issue_id, transition_id, fields)
        step = next((t for t in options if t.id == transition_id), None)
        self.known = StatusInfo(step.to_status_id, step.to_status_name, step.to_status_category) if step else None


def status_from_link(link: JiraLink, meta: JiraMeta) -> StatusInfo | None:
    """The status we last left the issue in, with its category from the checked workflow."""
    if not link.jira_status_id or not link.jira_status:
        return None
    known = meta.status(link.jira_status_id)
    return StatusInfo(link.jira_status_id, link.jira_status, known.category if known else "indeterminate")
