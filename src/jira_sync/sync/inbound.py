"""Two-way sync, the Jira -> Flashduty half of a reconcile (issue 12).

Each Jira event only queued its incident (a hint); here the issue as Jira holds it now is
compared, field by field, with what we last wrote to Jira and last saw there
(`domain/two_way.py`), and only a change a person made is written to Flashduty: status as
ack / unack / resolve / reopen, priority as severity (`/incident/reset`), comments as
comments. Flashduty is read first ("already there" is success) and read again after a write;
that read becomes the incident's snapshot, so the other direction sees the new state and
does not undo it. Every decision is noted on the incident's timeline.
"""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ..domain import mapping
from ..domain import two_way as rules
from ..domain.comment import refs_in_text
from ..domain.incident import IncidentSnapshot
from ..jira.port import IssueState
from ..sources.flashduty import parse_webhook
from ..sources.flashduty_api import FlashdutyApiError
from ..store import jira_inbound as store

if TYPE_CHECKING:
    from .reconcile import Job

log = logging.getLogger(__name__)

ACTION_WORDS = {"ack": "acknowledged", "unack": "unacknowledged", "resolve": "resolved", "reopen": "reopened"}


def wanted(job: "Job", snap: IncidentSnapshot) -> bool:
    """Whether this reconcile should look at Jira first: a Jira event came in, or a two-way
    field is about to be written to Jira (a change a person made there would be a conflict)."""
    tw = job.config.two_way
    if not tw.any or job.link.create_state != "created":
        return False
    if job.claimed.jira_seq > job.claimed.jira_synced_seq:
        return True
    desired = mapping.desired_state(job.config, job.meta, snap)
    status_moves = desired.status is not None and not rules.same(desired.status, job.link.jira_status)
    priority_moves = desired.priority_id is not None and desired.priority_id != job.link.jira_priority_id
    return (tw.status.two_way and status_moves) or (tw.priority.two_way and priority_moves)


class Inbound:
    def __init__(self, job: "Job", snap: IncidentSnapshot, state: IssueState) -> None:
        self.job, self.snap, self.state = job, snap, state
        self.hinted = job.claimed.jira_seq > job.claimed.jira_synced_seq
        self.wrote = False

    async def run(self) -> IncidentSnapshot:
        tw = self.job.config.two_way
        if tw.status.two_way:
            await self._refusable(self._status(), jira_seen_status=self.state.status_name)
        if tw.priority.two_way:
            await self._refusable(self._priority(), jira_seen_priority=self.state.priority_id)
        if self.wrote:
            await self._read_back()
        if tw.comments.two_way and self.hinted:
            await self._refusable(self._comments())
        return self.snap

    async def _refusable(self, step: Any, **seen: Any) -> None:
        """Flashduty refusing a write for good (403: the key may not manage incidents; 400) is
        noted on the timeline and the change counted as seen; the Jira side of the sync goes on.
        A 429 or 5xx goes up: the incident backs off and the comparison is made again."""
        try:
            await step
        except FlashdutyApiError as exc:
            if exc.retryable:
                raise
            await self._note("refused", f"Flashduty refused the write: {exc.message}")
            self.job.note(**seen)

    # ------------------------------------------------------------ status
    async def _status(self) -> None:
        job, state, link = self.job, self.state, self.job.link
        means = rules.progress_for_status(job.config, job.meta, state.status_name)
        # a new issue's status is not recorded until it is looked at or moved: it was created in
        # the workflow's initial status, so anything else there is a person's move (made before
        # this first look, e.g. within a second of the create)
        written = link.jira_status or self._initial_status()
        d = rules.decide(jira_now=state.status_name, last_written=written,
                         last_seen=link.jira_seen_status or link.jira_status, jira_means=means,
                         flashduty_wants=mapping.desired_status(job.config, job.meta, self.snap.progress),
                         owner=job.config.two_way.status.owner)
        where = f"{state.key} moved to {state.status_name}"
        wants = mapping.desired_status(job.config, job.meta, self.snap.progress)
        if rules.same(state.status_name, wants) and not rules.same(state.status_name, link.jira_status):
            # Jira already holds what Flashduty asks for: in step, nothing for the other half to move
            # (a move now would only race a person who is moving it at this moment)
            job.note(jira_status=state.status_name, jira_status_id=state.status_id)
        if d.verdict in ("in_step", "seen"):
            return
        if d.verdict == "echo":
            await self._note("echo", f"{where}: what jira-sync wrote; nothing to do")
        elif d.verdict == "not_mapped":
            await self._note("not_mapped", f"{where}: not a status mapped to a Flashduty progress; nothing done")
        elif d.verdict == "conflict_flashduty":
            await self._note("conflict", f"{where}, but the incident changed in Flashduty too: status is owned by "
                                         "Flashduty, so Jira is moved back")
        else:
            assert d.target is not None
            fd = await self._flashduty_incident()
            steps = rules.progress_steps(str(fd.get("progress") or ""), d.target)
            writer = self._writer()
            for step in steps:
                notes = {"resolution": state.resolution or f"Resolved in Jira {state.key}"} if step == "resolve" else {}
                if step == "reopen":
                    notes = {"reason": f"Reopened in Jira {state.key}"}
                await writer.act(step, self.snap.incident_id, **notes)
            self.wrote = self.wrote or bool(steps)
            done = ", ".join(ACTION_WORDS[s] for s in steps) or "already there in Flashduty"
            prefix = "conflict: status is owned by Jira; " if d.verdict == "conflict_jira" else ""
            await self._note("conflict" if prefix else "applied", f"{prefix}{where}: incident {done}")
            job.note(jira_status=state.status_name, jira_status_id=state.status_id, fd_written_progress=d.target)
        job.note(jira_seen_status=state.status_name)

    # ------------------------------------------------------------ priority -> severity
    async def _priority(self) -> None:
        job, state, link = self.job, self.state, self.job.link
        if state.priority_id is None:
            return
        severity = rules.severity_for_priority(job.config, job.meta, state.priority_id, self.snap.severity)
        d = rules.decide(jira_now=state.priority_id, last_written=link.jira_priority_id,
                         last_seen=link.jira_seen_priority or link.jira_priority_id, jira_means=severity,
                         flashduty_wants=mapping.desired_priority(job.config, job.meta, self.snap.severity),
                         owner=job.config.two_way.priority.owner)
        where = f"{state.key}'s priority changed to {job.meta.priority_name(state.priority_id)}"
        if state.priority_id == mapping.desired_priority(job.config, job.meta, self.snap.severity):
            job.note(jira_priority_id=state.priority_id)  # Jira already holds it: in step
        if d.verdict in ("in_step", "seen"):
            return
        if d.verdict == "echo":
            await self._note("echo", f"{where}: what jira-sync wrote; nothing to do")
        elif d.verdict == "not_mapped":
            await self._note("not_mapped", f"{where}: no severity maps to it; nothing done")
        elif d.verdict == "conflict_flashduty":
            await self._note("conflict", f"{where}, but the severity changed in Flashduty too: priority is owned by "
                                         "Flashduty, so Jira is set back")
        else:
            assert d.target is not None
            fd = await self._flashduty_incident()
            if fd.get("incident_severity") != d.target:
                await self._writer().set_severity(self.snap.incident_id, d.target)
                self.wrote = True
            prefix = "conflict: priority is owned by Jira; " if d.verdict == "conflict_jira" else ""
            await self._note("conflict" if prefix else "applied", f"{prefix}{where}: severity set to {d.target}")
            job.note(jira_priority_id=state.priority_id, fd_written_severity=d.target)
        job.note(jira_seen_priority=state.priority_id)

    # ------------------------------------------------------------ comments
    async def _comments(self) -> None:
        job = self.job
        me = await identity(job)
        issue = self.state.key if job.memory.by_key else self.state.id  # as the reconcile addresses it
        states = await store.comment_states(job.engine, job.row_id)
        on_flashduty: set[str] | None = None
        for c in await job.jira.comments(issue):
            if c.ref or (me and c.author == me) or rules.is_marked(c.text):
                continue  # ours: posted by jira-sync (a Flashduty comment), never mirrored back
            ref = rules.jira_comment_ref(c.id)
            if states.get(ref) == "posted":
                continue
            link = f"{job.config.jira.url}/browse/{self.state.key}?focusedCommentId={c.id}"
            pieces = rules.flashduty_comment_pieces(c.author_name or c.author or "", self.state.key, c.text, link, ref)
            if states.get(ref) == "posting":  # an earlier post's answer was lost: which pieces landed?
                if on_flashduty is None:
                    on_flashduty = {r for fc in await self._writer().comments(self.snap.incident_id)
                                    for r in refs_in_text(fc.text)}
            await store.mark_comment(job.engine, job.row_id, ref, "posting")
            for piece_ref, text in pieces:
                if on_flashduty is None or piece_ref not in on_flashduty:
                    await self._writer().comment(self.snap.incident_id, text)
            await store.mark_comment(job.engine, job.row_id, ref, "posted")
            await self._note("applied", f"comment by {c.author_name or c.author or 'someone'} on {self.state.key} "
                                        f"copied to the incident" + (f" in {len(pieces)} parts" if len(pieces) > 1 else ""))

    # ------------------------------------------------------------ helpers
    def _initial_status(self) -> str | None:
        known = self.job.workflow.initial_status
        if known is not None:
            return known.name
        new = [s.name for s in self.job.meta.statuses if s.category == "new"]
        return new[0] if len(new) == 1 else mapping.desired_status(self.job.config, self.job.meta, "Triggered")

    def _writer(self) -> Any:
        writer = self.job.flashduty
        if writer is None:  # saving refuses two-way without an app key; an edit may race a reconcile
            raise FlashdutyApiError("two-way sync needs the Flashduty app key", False)
        return writer

    async def _flashduty_incident(self) -> dict[str, Any]:
        return await self._writer().incident(self.snap.incident_id)

    async def _read_back(self) -> None:
        """Flashduty after our writes becomes the snapshot (newer than the one we hold)."""
        fd = await self._flashduty_incident()
        held = self.job.claimed.snapshot_time
        at = max(held + 1, int(fd.get("updated_at") or 0) * 1000)
        payload = {"event_id": f"jira-sync:{self.snap.incident_id}:{at}", "event_type": "recovered",
                   "event_time": at, "incident": fd}
        self.snap = parse_webhook(json.dumps(payload).encode()).incident
        await store.fold_snapshot(self.job.engine, self.job.row_id, self.job.owner, self.snap.to_json(), at)

    async def _note(self, outcome: str, text: str) -> None:
        log.info("incident %s: %s", self.snap.incident_id, text)
        await store.note(self.job.engine, self.job.claimed.integration_id, self.job.row_id, outcome, text)


async def identity(job: "Job") -> str | None:
    """Who the integration's Jira account is in events (checked, else asked once)."""
    if job.meta.account_id:
        return job.meta.account_id
    if job.memory.identity is None:
        me = await job.jira.myself()
        job.memory.identity = me.account_id or me.name or ""
    return job.memory.identity or None


async def own_member(job: "Job") -> str | None:
    """The app key's member (`/member/info`, asked once per client) when comments sync both ways:
    a Flashduty comment by this person was written by jira-sync, and is never copied to Jira."""
    if not job.config.two_way.comments.two_way or job.flashduty is None or not hasattr(job.flashduty, "member"):
        return None
    member = await job.flashduty.member()
    return str(member.person_id) if member.person_id else None


async def post_issue_link(job: "Job", snap: IncidentSnapshot) -> None:
    """Issue 11: tell the incident which Jira issue it has, once, marked so it never mirrors back.
    A key that may not write leaves a note and the sync goes on."""
    writer = job.flashduty
    if writer is None or not job.config.flashduty.comment_issue_link or not job.link.jira_issue_id:
        return
    ref = rules.issue_link_ref(job.link.jira_issue_id)
    state = (await store.comment_states(job.engine, job.row_id)).get(ref)
    if state in ("posted", "refused"):
        return
    if state is None and not job.created_now:
        return  # issues made before this setting existed (or before an upgrade) are left alone
    # ("due": recorded with the link, so also after a crash between the create and this comment)
    key = job.link.jira_issue_key or job.link.jira_issue_id
    if state == "posting":
        found = {r for c in await writer.comments(snap.incident_id) for r in refs_in_text(c.text)}
        if ref in found:
            await store.mark_comment(job.engine, job.row_id, ref, "posted")
            return
    await store.mark_comment(job.engine, job.row_id, ref, "posting")
    try:
        await writer.comment(snap.incident_id, rules.issue_link_comment(
            key, f"{job.config.jira.url}/browse/{key}", job.link.jira_issue_id))
    except FlashdutyApiError as exc:
        if exc.retryable:
            raise
        await store.mark_comment(job.engine, job.row_id, ref, "refused")
        await store.note(job.engine, job.claimed.integration_id, job.row_id, "refused",
                         f"could not comment the issue key on the incident: {exc.message}")
        return
    await store.mark_comment(job.engine, job.row_id, ref, "posted")
    await store.note(job.engine, job.claimed.integration_id, job.row_id, "applied",
                     f"the incident was told its Jira issue, {key}, in a comment")
