"""One reconcile: make the Jira issue hold what the incident's latest snapshot asks for.

Level-triggered (design/SYNC-MODEL.md): it compares the desired state with what was last
written and makes only the missing writes. The create and each comment are committed around
their call (they must never be made twice); priority and status are recorded by the closing
write, and a reconcile that never got there leaves the row unverified, so the next one reads
the issue from Jira once before deciding (a write then costs one request, not one commit more).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain import mapping
from ..domain.incident import IncidentSnapshot
from ..domain.integration import IntegrationConfig
from ..domain.jira_meta import JiraMeta
from ..domain.comment import comment_markdown, comment_ref, marked_url
from ..domain.two_way import is_marked
from ..jira.port import IssueDeleted, IssueState, JiraError, JiraNotFound, JiraPermanentError, JiraPort, StatusInfo
from ..jira.workflow import move_to_status
from ..store import claims
from ..store.db import Engine
from ..store.incidents import IncidentRecord, JiraLink
from .adopt import CreateLimits, ensure_issue
from .known_state import RememberingJira, SiteMemory, WorkflowMemory, status_from_link
from . import inbound
from .learn import learn_meta

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker owns this incident now (our lease expired): stop without writing."""


class CommentSource(Protocol):
    async def comments(self, incident_id: str) -> list[Any]: ...


@dataclass
class Job:
    engine: Engine
    owner: str
    claimed: IncidentRecord  # the incident's row as claimed: snapshot and queue counters
    link: JiraLink  # what Jira holds, updated as each write is confirmed
    config: IntegrationConfig
    meta: JiraMeta
    jira: JiraPort
    flashduty: CommentSource | None
    workflow: WorkflowMemory
    memory: SiteMemory
    limits: CreateLimits
    created_now: bool = False  # this reconcile created the issue (so it is in the initial status)
    # the issue id this reconcile found or made is only in `link` so far: the closing write records it
    unrecorded_link: bool = False

    @property
    def row_id(self) -> int:
        return self.claimed.id

    async def record(self, *, comment_due: str | None = None, **values: Any) -> None:
        """Commit now: for the create, whose trace must survive a crash mid-call."""
        if not await claims.record_jira(self.engine, self.row_id, self.owner, comment_due=comment_due, **values):
            raise LeaseLost(f"incident row {self.row_id}: lease lost")
        self.note(**values)

    def note(self, **values: Any) -> None:
        """Remember for the closing write (finish or fail). If the process dies first, its lease
        stays set, the next claim marks the row unverified (store/claims.py), and that
        reconcile reads the issue from Jira before it trusts these values."""
        for name, value in values.items():
            setattr(self.link, name, value)


async def reconcile(job: Job) -> None:
    snap = IncidentSnapshot.from_json(job.claimed.snapshot)
    if not job.meta.checked:
        await learn_meta(job)  # saved with check=false: resolve the names first
    if job.link.create_state == "deleted":
        state = await read_issue(job)  # raises IssueDeleted again, unless it was restored in Jira
        await job.record(create_state="created")
        _as_read(job, state)
    if job.link.create_state != "created":
        await ensure_issue(job, snap)
    await inbound.post_issue_link(job, snap)
    try:
        await update_issue(job, snap)
    except JiraNotFound:
        if job.memory.by_key:
            raise  # already addressed by key: not a missing issue (read_issue would have said)
        await read_issue(job)  # by key now, or IssueDeleted
        await update_issue(job, snap)


async def update_issue(job: Job, snap: IncidentSnapshot) -> None:
    """The priority, status and comments the latest snapshot asks for, on an existing issue."""
    if job.link.jira_unverified:
        # a reconcile was cut off after a write it never recorded (or a write's outcome is
        # unknown): what the row says may be stale, so ask Jira once before deciding
        _as_read(job, await read_issue(job))
    elif inbound.wanted(job, snap):
        # two-way: what people did in Jira first (it may change the snapshot, or be a conflict)
        snap = await inbound.Inbound(job, snap, await read_issue(job)).run()
    desired = mapping.desired_state(job.config, job.meta, snap)
    target = issue_target(job)
    try:
        if desired.priority_id and desired.priority_id != job.link.jira_priority_id:
            await job.jira.set_priority(target, desired.priority_id)
            job.note(jira_priority_id=desired.priority_id)
        if desired.status and desired.status.casefold() != (job.link.jira_status or "").casefold():
            await move_issue(job, target, desired.status)
    except JiraError as exc:
        if exc.retryable:  # it may have been applied: the next attempt reads before it decides
            job.note(jira_unverified=True)
        raise
    if job.claimed.comment_seq > job.claimed.comment_synced_seq:
        await sync_comments(job, snap, target)


def _as_read(job: Job, state: IssueState) -> None:
    job.note(jira_priority_id=state.priority_id, jira_status=state.status_name, jira_status_id=state.status_id,
             jira_issue_key=state.key, jira_unverified=False, jira_seen_status=state.status_name,
             jira_seen_priority=state.priority_id)


def issue_target(job: Job) -> str:
    """How requests name the issue: its id (stable), or its key on a Jira that reads only keys."""
    link = job.link
    if job.memory.by_key and link.jira_issue_key:
        return link.jira_issue_key
    assert link.jira_issue_id is not None
    return link.jira_issue_id


async def read_issue(job: Job) -> IssueState:
    """The issue as Jira holds it now: by id, else by its stored key before it is called deleted
    (some Jira-compatible servers answer 404 for /issue/{id} and find /issue/{key})."""
    link = job.link
    if not job.memory.by_key:
        try:
            return await job.jira.get_issue(link.jira_issue_id or "")
        except JiraNotFound:
            if not link.jira_issue_key:
                raise
    try:
        state = await job.jira.get_issue(link.jira_issue_key or "")
    except JiraNotFound:
        what = link.jira_issue_key or f"issue {link.jira_issue_id}"
        await job.record(create_state="deleted")
        raise IssueDeleted(f"{what} was deleted in Jira (or this account can no longer see it). "
                           "Create a new issue for this incident to go on.") from None
    if not job.memory.by_key:
        log.warning("%s is found by key but not by id (404): this Jira is addressed by issue key from now on", state.key)
        job.memory.by_key = True
    if state.key != link.jira_issue_key:
        job.note(jira_issue_key=state.key)
    return state


async def move_issue(job: Job, issue_id: str, target: str) -> None:
    """Move the issue to `target`: from memory first (one request), from Jira if memory was stale."""
    statuses = _statuses(job.meta)
    assumed = status_from_link(job.link, job.meta) or (job.workflow.initial_status if job.created_now else None)
    view = RememberingJira(job.jira, job.workflow, assumed)
    try:
        await move_to_status(view, issue_id, target, statuses=statuses)
    except JiraPermanentError as exc:
        if assumed is None or isinstance(exc, JiraNotFound):
            raise  # nothing was assumed: this is Jira's real answer
        # a person may have moved the issue in Jira, or the workflow changed: ask Jira
        job.workflow.forget()
        view = RememberingJira(job.jira, job.workflow, None)
        await move_to_status(view, issue_id, target, statuses=statuses)
    if job.created_now and view.first_seen is not None:
        job.workflow.initial_status = view.first_seen  # every new issue of this type starts there
    values: dict[str, Any] = {"jira_status": target, "jira_status_id": view.known.id if view.known else None}
    if view.key and view.key != job.link.jira_issue_key:
        values["jira_issue_key"] = view.key  # the project key was renamed: browse URLs follow
    job.note(**values)


async def sync_comments(job: Job, snap: IncidentSnapshot, issue: str) -> None:
    """Copy Flashduty comments to Jira once each (i_comm carries no text: read the feed)."""
    if job.flashduty is None:
        # saving the integration warned about this; failing the incident would also
        # hold back its priority and status updates, so the comments are skipped
        log.warning("incident %s: comment not synced: the integration has no Flashduty app key", snap.incident_id)
        return
    items = await job.flashduty.comments(snap.incident_id)
    states = await claims.comment_states(job.engine, job.row_id)
    ours = await inbound.own_member(job)  # two-way: comments made by the app key's member are ours
    on_issue: dict[str, str] | None = None
    for item in items:
        state = states.get(item.id)
        if state == "posted" or is_marked(item.text) or (ours and getattr(item, "creator_id", "") == ours):
            continue  # copied already, or written to Flashduty by jira-sync (never mirrored back)
        ref = comment_ref(item.id)
        if state == "posting":  # an earlier POST's answer was lost: did it land?
            if on_issue is None:
                on_issue = {c.ref: c.id for c in await job.jira.comments(issue) if c.ref}
            if ref in on_issue:
                await claims.mark_comment(job.engine, job.row_id, item.id, "posted", on_issue[ref])
                continue
        await claims.mark_comment(job.engine, job.row_id, item.id, "posting")
        link = marked_url(snap.detail_url, ref) if snap.detail_url else None
        posted = await job.jira.add_comment(issue, comment_markdown(item.author, item.text, link), ref)
        await claims.mark_comment(job.engine, job.row_id, item.id, "posted", posted.id)


def _statuses(meta: JiraMeta) -> list[StatusInfo] | None:
    if not meta.statuses:
        return None
    return [StatusInfo(id=s.id, name=s.name, category=s.category) for s in meta.statuses]
