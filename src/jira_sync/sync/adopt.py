"""Create the issue exactly once, whatever Jira's search index does.

A create whose answer was lost (timeout, reset, 5xx, a killed process) may or may not have
made the issue, and Cloud's search is eventually consistent with no documented bound: a
marker search that finds nothing proves nothing. What Jira answers consistently is an issue
read by id or key (from its database, not the index). Keys are numbered in sequence per
project and never reused, so before each create the row records `create_floor`, the highest
number known in the project (every later issue is numbered above it), and `create_sent_at`.
After an uncertain outcome, `find_created` searches for the marker once, then reads the keys
above the floor one by one until a run of 404s past the end, and adopts the issue that
carries the marker. Until the answer is conclusive the incident waits (`Uncertain`: backoff,
no attempt spent, the reason shown) while other incidents keep flowing. Where a Jira cannot
read issues by key, the marker search is trusted only once `max_index_lag_s` has passed
since the create was sent.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..domain import mapping
from ..domain import two_way
from ..domain.incident import IncidentSnapshot
from ..domain.issue import IssueDraft, issue_number
from ..jira.port import IssueRef, JiraError, JiraNotFound, SyncJira

if TYPE_CHECKING:
    from .reconcile import Job

log = logging.getLogger(__name__)

# Statuses that may come from a proxy while Jira still runs the request: like no answer.
GATEWAY = (408, 502, 503, 504)


@dataclass(frozen=True, slots=True)
class CreateLimits:
    settle_s: float  # a create that got no answer may still land in Jira this long after it was sent
    max_index_lag_s: float  # MAX_INDEX_LAG: trusted only where no consistent read works
    scan_batch: int = 100  # keys read per reconcile; the rest after a pause, from where it stopped
    past_end: int = 10  # 404s in a row past the index's newest key that mean "the end"


class Uncertain(Exception):
    """Jira cannot tell yet whether the create made an issue: wait `retry_in` seconds, then look
    again. Not a failure: no attempt is spent. `floor`: how far the look got (recorded)."""

    def __init__(self, message: str, *, retry_in: float, floor: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_in = max(0.05, retry_in)
        self.floor = floor


async def ensure_issue(job: "Job", snap: IncidentSnapshot) -> None:
    """Create the issue exactly once, even when an earlier create's answer was lost."""
    draft = mapping.issue_draft(job.config, job.meta, snap)
    label = draft.labels[0] if draft.labels else None
    link = job.link
    if link.create_state == "creating" and label:
        # an earlier create's outcome is unknown: learn it before creating again
        sent_at = link.create_sent_at or job.claimed.created_at
        settled = time.time() >= sent_at + job.limits.settle_s
        found = await _look(job, draft.project_key, label, sent_at, settled=settled)
        if found is not None:
            return await _adopt(job, draft, found, snap)
    await _create(job, draft, label, snap)


async def _create(job: "Job", draft: IssueDraft, label: str | None, snap: IncidentSnapshot) -> None:
    sent_at = time.time()
    # committed before the call: if we die during it, the next attempt looks first
    await job.record(create_state="creating", create_floor=job.memory.highest.get(draft.project_key),
                     create_sent_at=sent_at)
    try:
        found = await job.jira.create_issue(draft)
    except JiraError as exc:
        if not exc.outcome_unknown:
            await job.record(create_state=None)  # Jira refused it: nothing was made
            note = mapping.refusal_note(job.config, snap, exc.errors)
            if note:  # "Customer is required" alone does not say which mapping left it empty
                exc.message = f"{exc.message} ({note})"
            raise
        if exc.status is None or exc.status in GATEWAY or label is None:
            raise  # it may still be running in Jira: the next attempt looks, once it has settled
        # Jira itself answered (a 500): the request is over, so whatever it made can be read now
        made = await _look(job, draft.project_key, label, sent_at, settled=True)
        if made is None:
            await job.record(create_state=None)  # it made nothing: the next attempt creates at once
            raise
        return await _adopt(job, draft, made, snap)
    job.created_now = True
    job.memory.saw(draft.project_key, found.key)
    log.info("created %s for incident %s", found.key, snap.incident_id)
    await _linked(job, found, priority_id=draft.priority_id)


async def _adopt(job: "Job", draft: IssueDraft, found: IssueRef, snap: IncidentSnapshot) -> None:
    job.memory.saw(draft.project_key, found.key)
    log.info("adopted %s for incident %s after an unknown create outcome", found.key, snap.incident_id)
    # made from an older snapshot: its priority is not known
    await _linked(job, found, priority_id=None)


async def _linked(job: "Job", found: IssueRef, *, priority_id: str | None) -> None:
    """The issue made (or found after an unknown outcome) by this reconcile is its incident's.

    When a comment to the incident is owed for it, the link is committed at once, the comment
    marked due with it, so a crash next cannot forget the comment. Otherwise the reconcile's
    closing write (finish or fail) records it: one statement fewer per new incident, measured
    under the storm. A crash before that leaves the row "creating" with no id, as a crash
    during the create call does, and the next reconcile finds the issue by its label."""
    link = dict(
        create_state="created", jira_issue_id=found.id, jira_issue_key=found.key, jira_priority_id=priority_id,
        jira_status=None,  # unknown until looked at (or known from the workflow's initial status)
        jira_status_id=None, create_floor=None, create_sent_at=None, jira_unverified=False,
    )
    if job.config.flashduty.comment_issue_link:
        await job.record(comment_due=two_way.issue_link_ref(found.id), **link)
    else:
        job.note(**link)
        job.unrecorded_link = True


async def _look(job: "Job", project: str, label: str, sent_at: float, *, settled: bool) -> IssueRef | None:
    try:
        return await find_created(job.jira, project, label, job.link.create_floor, sent_at, job.limits,
                                  settled=settled)
    except Uncertain as exc:
        if exc.floor is not None and exc.floor != job.link.create_floor:
            await job.record(create_floor=exc.floor)  # the next look starts there
        raise


async def find_created(
    jira: SyncJira, project: str, label: str, floor: int | None, sent_at: float, limits: CreateLimits, *,
    settled: bool,
) -> IssueRef | None:
    """The issue an earlier create made, or None when it certainly made none. Raises
    `Uncertain` while Jira cannot tell yet. `settled`: the create can no longer be running."""
    hit = await jira.find_issue_by_label(project, label)
    if hit is not None:
        try:
            seen = await jira.read_labels(hit.key)  # the index may still list an issue since deleted
        except JiraNotFound:  # no reads by key on this Jira: the search is all there is
            return hit
        if seen is not None and label in seen.labels:
            return seen.ref
    now = time.time()
    # a second lower bound, fresher when this integration has not created for a while: the
    # newest issue the (lagging) index shows among those made before the create was sent
    before = int(max(0.0, now - sent_at) // 60) + 2
    floor = max(floor or 0, issue_number(await jira.newest_issue_key(project, before)) or 0)
    top = issue_number(await jira.newest_issue_key(project)) or 0  # the end is at least here
    number, last_seen, misses, readable = floor, floor, 0, False
    for _ in range(limits.scan_batch):
        number += 1
        try:
            seen = await jira.read_labels(f"{project}-{number}")
        except JiraNotFound:  # the endpoint itself is missing: no consistent path on this Jira
            readable = False
            break
        readable = True
        if seen is None:
            misses += 1
            if misses >= limits.past_end and number > top:
                break
            continue
        if label in seen.labels:
            return seen.ref
        misses, last_seen = 0, number
    else:
        raise Uncertain(f"Looking for the issue a lost create made: read {project}-{floor + 1} to {project}-{number}, "
                        "not found yet; reading on.", retry_in=0.05, floor=last_seen)
    if not readable:
        deadline = sent_at + max(limits.max_index_lag_s, 0.0 if settled else limits.settle_s)
        if now >= deadline:
            return None  # the marker search just now saw an index older than MAX_INDEX_LAG allows
        raise Uncertain(f"A create's answer was lost and this Jira cannot read issues by key, so only its "
                        f"search can tell: waiting out MAX_INDEX_LAG ({limits.max_index_lag_s:g} s) before "
                        "creating again.", retry_in=min(max(5.0, (now - sent_at) / 2), deadline - now), floor=None)
    if not settled:
        wait = sent_at + limits.settle_s - now
        raise Uncertain(f"A create's answer was lost; {project}-{floor + 1} to {project}-{number} do not carry "
                        f"{label}, but the create may still be running in Jira: looking again in {wait:.0f} s.",
                        retry_in=wait, floor=last_seen)
    return None

