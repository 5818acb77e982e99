"""Incidents as people see and act on them: pages, one incident's timeline, sync and retry."""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass

from ..domain.incident import id_problem
from ..domain.jira_meta import JiraMeta
from ..domain.trigger import COMMENT_SKIPPED, NO_APP_KEY
from ..store import incidents as store
from ..store import jira_inbound, queue
from ..store.db import Connection, Engine, read, write
from ..store.incidents import IncidentRecord
from ..store.integrations import IntegrationRow
from ..sync.changes import IntegrationChanges
from .errors import Conflict, NotFound
from .integrations import Integrations
from .models import (
    EventView,
    ExchangeView,
    IncidentDetail,
    IncidentPage,
    IncidentView,
    JiraEventView,
    JiraLinkView,
    QueueStatsView,
    RetriedView,
)

STATES = ("idle", "pending", "failed")
# an event's outcome that skipped something, explained where people look (API and timeline)
OUTCOME_NOTES = {COMMENT_SKIPPED: f"the incident is queued for Jira, but its comment is skipped: {NO_APP_KEY}"}


@dataclass
class Incidents:
    engine: Engine
    integrations: Integrations
    changes: IntegrationChanges
    wake: asyncio.Event

    async def page(
        self, integration_id: int, *, state: str | None = None, before: int | None = None, limit: int = 50,
        incident_id: str | None = None,
    ) -> IncidentPage:
        """Newest first, keyset-paginated (fast at any depth)."""
        integ = await self.integrations.row(integration_id)
        if incident_id is not None and id_problem(incident_id):  # no such id was ever stored
            return IncidentPage(items=[], next_before=None)
        async with read(self.engine) as conn:
            rows = await store.page(conn, integ.id, state=state, before=before, limit=limit, incident_id=incident_id)
        view = _Viewer(integ)
        return IncidentPage(items=[view.incident(r) for r in rows],
                            next_before=rows[-1].id if len(rows) == limit else None)

    async def detail(self, integration_id: int, incident_id: str) -> IncidentDetail:
        """An incident with its snapshot, the events received and every Jira exchange (secrets removed)."""
        integ = await self.integrations.row(integration_id)
        async with read(self.engine) as conn:
            row = await self._incident(conn, integ.id, incident_id)
            evs = await store.events_of(conn, integ.id, incident_id)
            exs = await store.exchanges_of(conn, row.id)
            jevs = await jira_inbound.timeline(conn, row.id)
        base = _Viewer(integ).incident(row)
        return IncidentDetail(
            **base.model_dump(), snapshot=row.snapshot,
            events=[EventView(**asdict(e), note=OUTCOME_NOTES.get(e.outcome)) for e in evs],
            history=[ExchangeView(**asdict(x)) for x in exs],
            jira_events=[JiraEventView(**asdict(j)) for j in jevs],
        )

    async def request_sync(self, integration_id: int, incident_id: str) -> IncidentView:
        """The manual trigger: sync this incident to Jira now (its latest snapshot)."""
        integ = await self.integrations.row(integration_id)
        if id_problem(incident_id):
            raise _no_incident(integ.id, incident_id)
        self.changes.notify(integ.id)  # a person acting now expects the configuration as it is now
        async with write(self.engine) as conn:
            row = await queue.request_sync(conn, integ.id, incident_id)
        if row is None:
            raise _no_incident(integ.id, incident_id)
        self.wake.set()
        return _Viewer(integ).incident(row)

    async def retry(self, integration_id: int, incident_id: str) -> IncidentView:
        """Try a failed incident again (after fixing what its last error says)."""
        integ = await self.integrations.row(integration_id)
        if id_problem(incident_id):
            raise _no_incident(integ.id, incident_id)
        self.changes.notify(integ.id)  # the fix may have been made elsewhere (e.g. the CLI)
        async with write(self.engine) as conn:
            row = await queue.retry_failed(conn, integ.id, incident_id)
            if row is None:
                await self._incident(conn, integ.id, incident_id)  # 404 if unknown
                raise Conflict("incident is not in the failed state")
        self.wake.set()
        return _Viewer(integ).incident(row)

    async def new_issue(self, integration_id: int, incident_id: str) -> IncidentView:
        """The linked issue was deleted in Jira: make a fresh one for the incident (its comments
        are copied there too). Refused unless the sync found the issue deleted."""
        integ = await self.integrations.row(integration_id)
        self.changes.notify(integ.id)
        async with write(self.engine) as conn:
            row = await queue.replace_deleted_issue(conn, integ.id, incident_id)
            if row is None:
                found = await self._incident(conn, integ.id, incident_id)  # 404 if unknown
                what = found.jira_issue_key or "its issue"
                raise Conflict(f"{what} has not been found deleted in Jira: a new issue is made only for an "
                               "incident whose issue was deleted (sync it to check)")
        self.wake.set()
        return _Viewer(integ).incident(row)

    async def retry_all_failed(self, integration_id: int) -> RetriedView:
        """Every failed incident of the integration, queued again (after a fix, or after an
        outage that outlasted GIVE_UP_HOURS): one action instead of one Retry each."""
        integ = await self.integrations.row(integration_id)
        self.changes.notify(integ.id)  # the fix may have been made elsewhere (e.g. the CLI)
        async with write(self.engine) as conn:
            retried = await queue.retry_all_failed(conn, integ.id)
        if retried:
            self.wake.set()
        return RetriedView(retried=retried)

    async def queue_stats(self, integration_id: int | None = None) -> QueueStatsView:
        async with read(self.engine) as conn:
            stats = await queue.queue_stats(conn, integration_id)
        return QueueStatsView(
            waiting=stats.waiting, in_flight=stats.in_flight, failed=stats.failed, linked=stats.linked,
            oldest_waiting_age_seconds=stats.oldest_waiting_age_seconds, all_synced=stats.all_synced,
        )

    async def _incident(self, conn: Connection, integration_id: int, incident_id: str) -> IncidentRecord:
        found = None if id_problem(incident_id) else await store.get(conn, integration_id, incident_id)
        if found is None:
            raise _no_incident(integration_id, incident_id)
        return found


def _no_incident(integration_id: int, incident_id: str) -> NotFound:
    shown = incident_id if not id_problem(incident_id) else "with this id (no incident id can be like it)"
    return NotFound(f"no event received yet for incident {shown} in integration {integration_id}")


class _Viewer:
    """Incident rows of one integration as views: browse links on its site, priority names."""

    def __init__(self, integ: IntegrationRow) -> None:
        self.jira_url = integ.config["jira"]["url"]
        self.meta: JiraMeta = integ.meta()

    def incident(self, row: IncidentRecord) -> IncidentView:
        key = row.jira_issue_key
        return IncidentView(
            incident_id=row.incident_id, title=row.title, severity=row.severity, progress=row.progress,
            activated=row.activated, state="in_flight" if row.in_flight else row.state, attempts=row.attempts,
            last_error=row.last_error, next_attempt_at=row.due_at if row.state == "pending" else None,
            jira=JiraLinkView(
                issue_id=row.jira_issue_id, key=key, browse_url=f"{self.jira_url}/browse/{key}" if key else None,
                status=row.jira_status, priority_id=row.jira_priority_id,
                priority=self.meta.priority_name(row.jira_priority_id), create_state=row.create_state,
            ),
            last_synced_at=row.last_synced_at, updated_at=row.updated_at,
        )
