"""One reconcile: make the Jira issue hold what the incident's latest snapshot asks for.

Level-triggered (design/SYNC-MODEL.md): it compares the desired state with what was last
written and makes only the missing writes, recording each one as soon as Jira confirms
it, so a crash between two calls resumes where it stopped and never writes twice.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from ..domain import mapping
from ..domain.incident import IncidentSnapshot
from ..domain.integration import IntegrationConfig, JiraPlatform
from ..jira.port import IssueRef, JiraPermanentError, JiraPort, StatusInfo
from ..jira.workflow import move_to_status
from ..store import queue
from .known_state import RememberingJira, WorkflowMemory, status_from_row

log = logging.getLogger(__name__)

# Cloud search is eventually consistent: an issue created a moment ago may not be found
# yet (jira.md, "Writing"). Before re-creating after an unknown outcome, look a few times.
CLOUD_SEARCH_TRIES = (0.0, 1.0, 2.0)


class LeaseLost(Exception):
    """Another worker owns this incident now (our lease expired): stop without writing."""


class CommentSource(Protocol):
    async def comments(self, incident_id: str) -> list[Any]: ...


@dataclass
class Job:
    engine: AsyncEngine
    owner: str
    row: dict[str, Any]  # the claimed incidents row
    config: IntegrationConfig
    meta: dict[str, Any]
    jira: JiraPort
    flashduty: CommentSource | None
    workflow: WorkflowMemory
    created_now: bool = False  # this reconcile created the issue (so it is in the initial status)

    @property
    def row_id(self) -> int:
        return self.row["id"]

    async def record(self, **values: Any) -> None:
        """Commit now: for the create, whose trace must survive a crash mid-call."""
        if not await queue.record_jira(self.engine, self.row_id, self.owner, **values):
            raise LeaseLost(f"incident row {self.row_id}: lease lost")
        self.row.update(values)

    def note(self, **values: Any) -> None:
        """Remember for the closing write (finish or fail). Redoing these after a crash is
        harmless: the same priority again, or a move to where the issue already is."""
        self.row.update(values)


async def reconcile(job: Job) -> None:
    snap = IncidentSnapshot.from_json(job.row["snapshot"])
    if job.row["create_state"] != "created":
        await ensure_issue(job, snap)
    desired = mapping.desired_state(job.config, job.meta, snap)
    issue_id = job.row["jira_issue_id"]
    if desired.priority_id and desired.priority_id != job.row["jira_priority_id"]:
        await job.jira.set_priority(issue_id, desired.priority_id)
        job.note(jira_priority_id=desired.priority_id)
    if desired.status and desired.status.casefold() != (job.row["jira_status"] or "").casefold():
        await move_issue(job, issue_id, desired.status)
    if job.row["comment_seq"] > job.row["comment_synced_seq"]:
        await sync_comments(job, snap)


async def move_issue(job: Job, issue_id: str, target: str) -> None:
    """Move the issue to `target`: from memory first (one request), from Jira if memory was stale."""
    statuses = _statuses(job.meta)
    assumed = status_from_row(job.row, job.meta) or (job.workflow.initial_status if job.created_now else None)
    view = RememberingJira(job.jira, job.workflow, assumed)
    try:
        await move_to_status(view, issue_id, target, statuses=statuses)
    except JiraPermanentError:
        if assumed is None:
            raise  # nothing was assumed: this is Jira's real answer
        # a person may have moved the issue in Jira, or the workflow changed: ask Jira
        job.workflow.forget()
        view = RememberingJira(job.jira, job.workflow, None)
        await move_to_status(view, issue_id, target, statuses=statuses)
    if job.created_now and view.first_seen is not None:
        job.workflow.initial_status = view.first_seen  # every new issue of this type starts there
    values: dict[str, Any] = {"jira_status": target, "jira_status_id": view.known.id if view.known else None}
    if view.key and view.key != job.row["jira_issue_key"]:
        values["jira_issue_key"] = view.key  # the project key was renamed: browse URLs follow
    job.note(**values)


async def ensure_issue(job: Job, snap: IncidentSnapshot) -> None:
    """Create the issue exactly once, even when an earlier create's answer was lost."""
    draft = mapping.issue_draft(job.config, job.meta, snap)
    found: IssueRef | None = None
    if job.row["create_state"] == "creating" and draft.labels:
        found = await _find_by_marker(job, draft.project_key, draft.labels[0])
    if found is None:
        # committed before the call: if we die during it, the next attempt looks first
        await job.record(create_state="creating")
        found = await job.jira.create_issue(draft)
        job.created_now = True
        log.info("created %s for incident %s", found.key, snap.incident_id)
    await job.record(
        create_state="created",
        jira_issue_id=found.id,
        jira_issue_key=found.key,
        # an adopted issue was created from an older snapshot: its priority is not known
        jira_priority_id=draft.priority_id if job.created_now else None,
        jira_status=None,  # unknown until looked at (or known from the workflow's initial status)
        jira_status_id=None,
    )


async def _find_by_marker(job: Job, project_key: str, label: str) -> IssueRef | None:
    tries = CLOUD_SEARCH_TRIES if job.config.jira.platform is JiraPlatform.CLOUD else (0.0,)
    for delay in tries:
        if delay:
            await asyncio.sleep(delay)
        found = await job.jira.find_issue_by_label(project_key, label)
        if found is not None:
            log.info("adopted %s for incident %s after an unknown create outcome", found.key, job.row["incident_id"])
            return found
    return None


def comment_ref(source_id: str) -> str:
    return f"flashduty-comment:{source_id}"


def comment_markdown(author: str, text: str) -> str:
    who = author.strip() or "Someone"
    return f"**{who}** commented in Flashduty:\n\n{text}"


async def sync_comments(job: Job, snap: IncidentSnapshot) -> None:
    """Copy Flashduty comments to Jira once each (i_comm carries no text: read the feed)."""
    if job.flashduty is None:
        # saving the integration warned about this; failing the incident would also
        # hold back its priority and status updates, so the comments are skipped
        log.warning("incident %s: comment not synced: the integration has no Flashduty app key", snap.incident_id)
        return
    items = await job.flashduty.comments(snap.incident_id)
    states = await queue.comment_states(job.engine, job.row_id)
    on_issue: dict[str, str] | None = None
    issue_id = job.row["jira_issue_id"]
    for item in items:
        state = states.get(item.id)
        if state == "posted":
            continue
        ref = comment_ref(item.id)
        if state == "posting":  # an earlier POST's answer was lost: did it land?
            if on_issue is None:
                on_issue = {c.ref: c.id for c in await job.jira.comments(issue_id) if c.ref}
            if ref in on_issue:
                await queue.mark_comment(job.engine, job.row_id, item.id, "posted", on_issue[ref])
                continue
        await queue.mark_comment(job.engine, job.row_id, item.id, "posting")
        posted = await job.jira.add_comment(issue_id, comment_markdown(item.author, item.text), ref)
        await queue.mark_comment(job.engine, job.row_id, item.id, "posted", posted.id)


def _statuses(meta: dict[str, Any]) -> list[StatusInfo] | None:
    raw = meta.get("statuses")
    if not raw:
        return None
    return [StatusInfo(id=s["id"], name=s["name"], category=s["category"]) for s in raw]
