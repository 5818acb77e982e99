"""Polling Jira for what its webhooks did not bring (two-way sync's backstop).

Server/DC 7.x-8.x neither sign nor retry webhooks, and a Cloud delivery can still be lost, so
every integration with a two-way field is polled (`two_way.poll_seconds`; by default every
60 s on Server/DC and every 600 s on Cloud). One process polls an integration at a time (a
lease in `jira_poll_state`). A poll asks for the project's issues updated since the last
successful poll began, as a JQL period on Jira's clock (`updated >= "-Nm"`): JQL has minute
precision, so the window is rounded up and overlaps the previous one by a minute. Each linked
issue found becomes a hint (`poll:<issue id>:<updated>`, so an overlap finds it once) unless its
newest change was made by the integration's own account (its changelog: `/changelog/bulkfetch`
on Cloud, `expand=changelog` on Server/DC). A change is therefore caught within one interval.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from datetime import datetime
from typing import Any, Callable

from ..crypto import SecretBox
from ..domain.integration import JiraConnection
from ..jira.port import JiraError, JiraPort, UpdatedIssue
from ..store import jira_inbound as store
from ..store.db import Engine, read, write
from ..store.integrations import IntegrationRow, decrypt

log = logging.getLogger(__name__)

LEASE = 120.0  # seconds one process may hold an integration's poll
OVERLAP_MINUTES = 1  # JQL compares minutes: the window reaches one minute further back
MAX_MINUTES = 7 * 24 * 60  # after a long stop, a week back at most
TICK = 0.5  # seconds between looks for due polls while any integration is two-way (lateness bound)
IDLE_TICK = 5.0


class JiraPoller:
    def __init__(self, engine: Engine, box: SecretBox, jira: Callable[[JiraConnection, Any], JiraPort],
                 wake: asyncio.Event | None = None) -> None:
        """`wake`: this process's worker, woken when a poll queued an incident."""
        self.engine, self.box, self.jira, self.wake = engine, box, jira, wake
        self.changed = asyncio.Event()  # an integration was changed: look again now (it may be two-way)
        self._due: dict[int, float] = {}  # the next poll of each integration this process polled
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._identity: dict[tuple[int, float], str | None] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            busy = False
            self.changed.clear()  # before looking: a change made while we look wakes the next wait
            try:
                busy = await self.run_due()
            except Exception:
                log.exception("Jira polling: could not look for due polls; trying again")
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.changed.wait())]
            # our own next poll on time (a lost delivery is caught within one interval); others' every TICK
            wait = min([TICK if busy else IDLE_TICK, *(t - time.time() + 0.01 for t in self._due.values())])
            await asyncio.wait(waiters, timeout=max(0.0, wait), return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()

    def integration_changed(self, integration_id: int) -> None:
        self.changed.set()

    async def run_due(self) -> bool:
        """Poll every two-way integration whose poll is due; True when any integration is two-way."""
        async with read(self.engine) as conn:
            rows = await store.poll_candidates(conn)
        any_two_way = False
        for row in rows:
            interval = _interval(row)
            if interval <= 0:
                continue
            any_two_way = True
            now = time.time()
            async with write(self.engine) as conn:
                state = await store.claim_poll(conn, row.id, self.owner, now, LEASE)
            if state is not None:
                await self.poll(row, state, interval)
            elif self._due.get(row.id, 0.0) <= now:
                self._due.pop(row.id, None)  # another process polls it now
        return any_two_way

    async def poll(self, row: IntegrationRow, state: store.PollState, interval: float) -> dict[str, Any]:
        started = time.time()
        report: dict[str, Any] = {"updated": 0, "linked": 0, "queued": 0, "ours": 0, "already_had": 0}
        cfg = decrypt(row, self.box).config
        meta = row.meta()
        since = state.cursor if state.cursor is not None else started - interval
        minutes = min(MAX_MINUTES, math.ceil(max(0.0, started - since) / 60) + OVERLAP_MINUTES)
        report["window_minutes"] = minutes
        error: str | None = None
        cursor: float | None = started
        jira = self.jira(cfg.jira, None)
        try:
            me = meta.account_id or await self._me(row, jira)
            found = await jira.updated_issues(meta.project_key or cfg.project, minutes)
            report["updated"] = len(found)
            async with write(self.engine) as conn:
                linked = await store.linked_issues(conn, row.id, [u.id for u in found])
                report["linked"] = len(linked)
                for u in found:
                    if u.id not in linked:
                        continue
                    ours = made_by(u, me)
                    outcome = await store.accept_hint(conn, store.Hint(
                        integration_id=row.id, delivery_id=f"poll:{u.id}:{u.updated}", issue_id=u.id,
                        issue_key=u.key, source="poll", kind="changed",
                        actor=u.last_change_by if ours else None, ours=ours))
                    key = {"queued": "queued", "stored": "queued", "echo": "ours", "duplicate": "already_had"}
                    if outcome in key:
                        report[key[outcome]] += 1
        except JiraError as exc:
            error, cursor = exc.message, None  # the next window starts where this one did
        except Exception as exc:
            log.exception("Jira polling of integration %s failed", row.id)
            error, cursor = f"{type(exc).__name__}: {exc}", None
        finally:
            await jira.aclose()
        if report["queued"] and self.wake is not None:
            self.wake.set()
        if report["queued"] or error:
            log.info("Jira polling of integration %s: %d changed issues queued%s", row.id, report["queued"],
                     f"; {error}" if error else "")
        async with write(self.engine) as conn:
            await store.finish_poll(conn, row.id, self.owner, next_run_at=started + interval, cursor=cursor,
                                    error=error, report=report)
        self._due[row.id] = started + interval
        return report

    async def _me(self, row: IntegrationRow, jira: JiraPort) -> str | None:
        if row.version not in self._identity:
            me = await jira.myself()
            self._identity[row.version] = me.account_id or me.name
        return self._identity[row.version]


def _interval(row: IntegrationRow) -> float:
    try:
        cfg = row.public_config()
    except ValueError:
        return 0.0
    return cfg.two_way.poll_interval(cfg.jira.platform)


def made_by(u: UpdatedIssue, me: str | None) -> bool:
    """The issue's latest update is its newest change group, made by `me` (a comment, which
    has no change group, or a later change by someone else makes this False)."""
    if not me or u.last_change_by != me or not u.last_change_at:
        return False
    changed, updated = _when(u.last_change_at), _when(u.updated)
    return changed is not None and updated is not None and abs((updated - changed).total_seconds()) < 0.001


def _when(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
