"""The worker: claims due incidents and reconciles them, many at once.

A committed event wakes it at once (an in-process asyncio.Event; on PostgreSQL also
LISTEN/NOTIFY for `jira-sync worker` processes), and a slow poll is only a safety net.
A heartbeat keeps the claims of its reconciles in flight and frees those of dead workers
(`liveness.py`); what a failure means for the incident and its Jira site is `outages.py`.
"""
from __future__ import annotations

import asyncio
import heapq
import contextvars
import logging
import time
from typing import Any

from .. import turns
from ..crypto import SecretBox
from ..domain.durations import retry_phrase
from ..jira.port import Exchange, JiraError
from ..observe import logs
from ..observe.metrics import Metrics
from ..settings import Settings
from ..sources.flashduty_api import FlashdutyApiError
from ..store import claims, queue
from ..store.db import ConstraintViolated, Engine
from ..store.incidents import IncidentRecord, JiraLink
from ..store.integrations import IntegrationRow
from .adopt import CreateLimits, Uncertain
from .changes import IntegrationRows
from .clients import ClientCache, FlashdutyFactory, JiraFactory
from .liveness import Liveness
from .outages import Fate, Outages, failure_reason
from .reconcile import Job, LeaseLost, reconcile
from .sites import Sites

log = logging.getLogger(__name__)

SAFETY_POLL = 5.0  # seconds; events wake the worker directly, this only catches strays
DB_RETRY = 2.0  # seconds between claims while the database is unavailable
SHUTDOWN_GRACE = 10.0  # seconds in-flight reconciles get to finish when the service stops
PRUNE_EVERY = 3600.0  # seconds between history clean-ups
CLAIM_GATHER = 0.01  # seconds a woken worker waits before claiming, so one claim takes a burst

# the exchange log of the incident being reconciled in this task (one task per incident)
current_log: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar("current_log", default=None)


def record_exchange(ex: Exchange) -> None:
    entries = current_log.get()
    if entries is not None:
        entries.append(
            dict(
                at=time.time(),
                method=ex.method,
                path=ex.path,
                request_body=ex.request_body,
                status=ex.status,
                response_body=ex.response_body,
                duration_ms=round(ex.duration_ms, 2),
            )
        )


def _writes(entries: list[dict[str, Any]]) -> int:
    """Jira writes a reconcile made (creates, updates, transitions, comments), searches aside."""
    return sum(1 for e in entries if e["method"] in ("POST", "PUT") and 200 <= (e["status"] or 0) < 300
               and "/search" not in e["path"])


def _outcome(fate: Fate) -> dict[str, Any]:
    """What happens next, for a log line: a retry in so many seconds (rounded), or failed."""
    if fate.retry_at is None:
        return {"outcome": "failed"}
    return {"outcome": "retry", "retry_in_s": round(max(0.0, fate.retry_at - time.time()), 2)}


def _next(fate: Fate) -> str:
    """"retry in 0.9 s" (`domain/durations.py`), or "failed; waits for a person" when none is planned."""
    return retry_phrase(fate.retry_at, time.time()) or "failed; waits for a person"


class IntegrationGone(Exception):
    """A claimed incident's integration was deleted meanwhile (a person's action, not a fault)."""


class Worker:
    def __init__(
        self, engine: Engine, settings: Settings, box: SecretBox, wake: asyncio.Event, rows: IntegrationRows,
        jira: JiraFactory, flashduty: FlashdutyFactory, sites: Sites, metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics if metrics is not None else Metrics()
        self.settings = settings
        self.wake = wake
        self.liveness = Liveness(engine, settings.lease_seconds, one_process=not settings.is_postgres)
        self.owner = self.liveness.owner
        self.clients = ClientCache(box, jira, flashduty, record_exchange)
        self.sites = sites
        self.outages = Outages(sites, self.clients, rows, settings)
        self._tasks: dict[asyncio.Task[None], int] = {}  # reconcile -> the incident row it holds
        self.turnstile = turns.Turnstile()  # reconciles yield the loop to webhooks (turns.py)
        self._claim_least = max(1, settings.worker_concurrency // 4)  # free slots a claim waits for
        self.integrations = rows
        # every backoff this worker has set and not yet reached (a min-heap of times): it wakes
        # at each, not only at the earliest, so no retry waits for the safety poll
        self._retries: list[float] = []
        self._next_prune = 0.0  # history clean-up: first when the queue is first quiet
        # a create that got no answer may still land for twice as long as we waited for it
        self.limits = CreateLimits(settle_s=2 * settings.jira_timeout, max_index_lag_s=settings.max_index_lag)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s started (concurrency %d)", self.owner, self.settings.worker_concurrency)
        try:
            await self.liveness.start()  # before the first claim: what dead predecessors held is free
        except Exception:  # the heartbeat registers us once the database answers
            log.exception("worker: could not register; the heartbeat tries again")
        heartbeat = asyncio.create_task(self._heartbeat(), name="heartbeat")
        try:
            while not stop.is_set():
                self.wake.clear()
                room = self.settings.worker_concurrency - len(self._tasks)
                if room < self._claim_least and self._tasks:
                    # claim for several free slots at once, not one per finished reconcile: on
                    # PostgreSQL each claim walks the queue index past the incidents in flight
                    # and the dead entries a storm leaves, and a claim per reconcile made it a
                    # quarter of the database's CPU (sampled in pg_stat_activity)
                    await self._wait_any([*self._tasks], stop, timeout=None)
                    continue
                while self._retries and self._retries[0] <= time.time():
                    heapq.heappop(self._retries)  # those retries are due: this claim takes them
                try:
                    await self.outages.probe_due()
                    rows = await claims.claim(self.engine, self.owner, room, self.settings.lease_seconds)
                    await self._start(rows)
                except Exception:  # the database is away (restart, network): keep the worker alive
                    log.exception("worker: could not claim; trying again in %s s", DB_RETRY)
                    await self._wait_any([], stop, timeout=DB_RETRY)
                    continue
                if len(rows) == room:
                    continue  # every slot filled: more may be due right now
                await self._housekeeping()
                # Nothing else is due. Sleep until an event is queued or a reconcile ends with
                # more to do (both set `wake`), until our own earliest retry or a paused site's
                # next probe, or the safety poll (another process's backoffs).
                next_retry = self._retries[0] if self._retries else None
                wake_at = [t for t in (next_retry, self.sites.next_probe_at()) if t is not None]
                until = min([SAFETY_POLL, *(t - time.time() for t in wake_at)])
                await self._wait_any([], stop, timeout=max(0.0, until))
                if self.wake.is_set() and not stop.is_set():
                    # woken by a commit: let the events of the next few ms join this claim. Under
                    # a storm every batch commit wakes every worker process; claiming at each
                    # wake made a claim transaction per event per process
                    await asyncio.sleep(CLAIM_GATHER)
        finally:
            # let reconciles in flight finish (their incidents would otherwise stay leased
            # until the lease runs out), then cancel what is left
            if self._tasks:
                await asyncio.wait([*self._tasks], timeout=SHUTDOWN_GRACE)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            await self.outages.aclose()
            try:
                await self.liveness.stop()  # what is still claimed is free for the next worker at once
            except Exception:
                log.exception("worker: could not release its claims; they are free when their leases end")
            await self.clients.aclose()

    async def _heartbeat(self) -> None:
        """Every third of a lease, until cancelled after the last reconcile has ended (so the
        grace period at shutdown keeps its claims too): renew the claims in flight, free those
        of dead workers, and reload the Jira sites' pauses (other processes also announce theirs)."""
        while True:
            await asyncio.sleep(self.liveness.every)
            try:
                if await self.liveness.beat(self._tasks.values()):  # a live view: see beat
                    self.wake.set()  # a dead worker's incidents are free: take them now
                await self.sites.refresh()
            except Exception as exc:  # the database is away: leases run on, the next beat tries again
                log.warning("worker: heartbeat failed (%s); trying again in %.1f s", exc, self.liveness.every)

    async def _housekeeping(self) -> None:
        """Now and then, when the queue is quiet: drop history older than HISTORY_DAYS."""
        now = time.time()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        try:
            events, exchanges = await queue.prune_history(self.engine, now - self.settings.history_days * 86400)
        except Exception:
            log.exception("worker: history clean-up failed; trying again later")
            return
        if events or exchanges:
            log.info("history clean-up: %d events and %d Jira exchanges older than %s days removed",
                     events, exchanges, self.settings.history_days)

    async def _start(self, rows: list[IncidentRecord]) -> None:
        if not rows:
            return
        integrations = await self.integrations.get_many({r.integration_id for r in rows})
        for row in rows:
            integration = integrations.get(row.integration_id)
            task = asyncio.create_task(self._handle(row, integration), name=f"reconcile-{row.id}")
            self._tasks[task] = row.id
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    async def _wait_any(self, tasks: list[asyncio.Task[None]], stop: asyncio.Event, timeout: float | None) -> None:
        """Until a task ends, `wake` or `stop` is set, or the timeout passes."""
        waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait([*tasks, *waiters], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _handle(self, row: IncidentRecord, integration: IntegrationRow | None) -> None:
        entries: list[dict[str, Any]] = []
        current_log.set(entries)
        turns.background.set(self.turnstile)  # this task is background work: it takes turns on the loop
        # this task's own context: every line below (and the Jira client's) names the incident
        logs.bind(integration=row.integration_id, incident=row.incident_id, issue_key=row.jira_issue_key)
        started = time.time()
        link = row.link()
        job: Job | None = None
        try:
            job = self._job(row, link, integration)
            pause = self.sites.blocking(integration.config["jira"]) if integration else None
            if pause is not None:  # its Jira site (or account) is paused: wait, without calling Jira
                fate = self.outages.waiting(row, pause, time.time())
                log.debug("waiting for a paused Jira site", extra=logs.fields(**_outcome(fate)))
                await self._end(row, link, entries, fate)
                return
            await reconcile(job)
        except LeaseLost as exc:
            log.warning("%s", exc)
            return
        except Exception as exc:  # every failure becomes visible state, never a lost update
            fate = await self.outages.failed(row, integration, exc)
            if not isinstance(exc, IntegrationGone):  # Jira cannot tell yet (Uncertain): an attempt, not a failure
                self.metrics.sync_ended(row.integration_id, None if isinstance(exc, Uncertain) else failure_reason(exc),
                                        None)
            said = logs.fields(**_outcome(fate), jira_requests=len(entries), issue_key=link.jira_issue_key,
                               duration_ms=round((time.time() - started) * 1000, 1))
            what = "reconcile waits" if isinstance(exc, Uncertain) else "reconcile failed"
            if not isinstance(exc, (JiraError, FlashdutyApiError, IntegrationGone)):  # expected: one line
                log.exception("%s: %s; %s", what, fate.error, _next(fate), extra=said)
            else:
                log.info("%s: %s; %s", what, fate.error, _next(fate), extra=said)
            await self._end(row, link, entries, fate, first_link=job is not None and job.unrecorded_link)
            return
        wrote = _writes(entries)
        latency = time.time() - row.pending_since if wrote and row.pending_since else None
        self.metrics.sync_ended(row.integration_id, None, latency)
        again = await self._close(claims.finish(self.engine, row, link, self.owner, entries,
                                                first_link=job.unrecorded_link))
        log.info("reconciled", extra=logs.fields(
            outcome="due_again" if again else "in_step", jira_requests=len(entries), jira_writes=wrote,
            issue_key=link.jira_issue_key, duration_ms=round((time.time() - started) * 1000, 1)))
        if again:
            self.wake.set()  # changes arrived while we worked: the incident is due again

    async def _end(self, row: IncidentRecord, link: JiraLink, entries: list[dict[str, Any]], fate: Fate, *,
                   first_link: bool = False) -> None:
        await self._close(claims.fail(
            self.engine, row, link, self.owner, fate.error, entries, retry_at=fate.retry_at,
            failing_since=fate.failing_since, pause=fate.pause, attempted=fate.attempted, first_link=first_link))
        if fate.retry_at is not None:
            heapq.heappush(self._retries, fate.retry_at)
            self.wake.set()  # the loop may be asleep past this retry: let it recompute

    async def _close(self, write: Any) -> Any:
        """The closing write of a reconcile. If the database is away, the incident stays
        leased and is taken up again when the lease runs out: nothing is lost."""
        try:
            return await write
        except ConstraintViolated:  # its integration was deleted while it synced: nothing left to record
            log.info("worker: an incident's row was deleted before its outcome was recorded")
            return None
        except Exception:
            log.exception("worker: could not record the outcome; the incident is retried after its lease")
            return None

    def _job(self, row: IncidentRecord, link: JiraLink, integration: IntegrationRow | None) -> Job:
        if integration is None:
            raise IntegrationGone("the integration was deleted")
        c = self.clients.get(integration)
        return Job(self.engine, self.owner, row, link, c.config, c.meta, c.jira, c.flashduty, c.workflow, c.memory,
                   self.limits)
