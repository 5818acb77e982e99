"""Recovering webhooks Flashduty gave up on (it retries a failed delivery at most once).

Every `RECOVERY_INTERVAL` seconds, for each enabled integration with a Flashduty app key
(unless `flashduty.recover_missed` is off), one process (a lease in `recovery_state`) does:

1. **Replay.** Read the account's failed deliveries since the last run (Open API
   `/webhook/history/list`, ten minutes of overlap, never further back than Flashduty's
   seven days), keep those carrying this integration's webhook secret (in the recorded
   headers or the URL's `?secret=`: the secret, not the URL, tells whose a delivery is,
   since Flashduty may reach us through another host name than PUBLIC_URL), and put each
   recorded `request_body` through the normal intake. Its `event_id` (the payload's, not
   the history record's own id) makes a delivery we did get a duplicate, so replaying is
   safe. With `flashduty.webhook_integration_id` set, Flashduty filters by it first.
2. **Sweep.** Read the current snapshot of every incident we hold as open
   (`/incident/list-by-ids`, 100 at a time) and compare Flashduty's `updated_at` with the
   stored snapshot's. A newer one goes through the same intake as a synthetic event
   (`recovered`, id `recovered:<incident>:<updated_at>`), whose time is the change's time
   but never older than the stored snapshot, so newest-wins by time holds both ways.

Each run's report (what it found, what it recovered, any error) is kept for /healthz, the
API and the console. Calls are paced per account (`sources/flashduty_recovery.py`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from ..crypto import SecretBox, webhook_secret_matches
from ..domain.incident import RECOVERED
from ..settings import Settings
from ..sources.flashduty_api import FlashdutyApiError
from ..domain.integration import FlashdutyApi as FlashdutyConfig
from ..sources.flashduty_recovery import PAGE, RecoveryApi
from ..store import recovery as store
from ..store.db import Engine, read, write
from ..store.integrations import IntegrationRow, decrypt
from ..observe.metrics import Metrics
from .ingest import Ingestor

log = logging.getLogger(__name__)

OVERLAP_MS = 10 * 60 * 1000  # deliveries can be recorded a little after their event time
RETENTION_MS = 7 * 86400 * 1000  # Flashduty's console keeps seven days of history
MAX_DELIVERIES = 5000  # per run; the next run goes on from where this one stopped
LEASE = 600.0  # seconds one process may hold an integration's run
SECRET_HEADER = "x-jira-sync-secret"


@dataclass
class RunReport:
    window_start_ms: int = 0
    window_end_ms: int = 0
    failed_deliveries: int = 0  # failed deliveries of the account in the window
    ours: int = 0  # of them, carrying this integration's secret
    replayed: int = 0  # taken in as new events
    already_had: int = 0  # we had received them after all (a duplicate event id)
    refused: int = 0  # the intake refused them (the first reason in `refusal`)
    refusal: str = ""
    swept: int = 0  # open incidents compared with Flashduty
    newer_in_flashduty: int = 0
    recovered_by_sweep: int = 0
    not_in_flashduty: int = 0
    api_calls: int = 0
    rate_limited: int = 0  # 429s waited out
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> int:
        return self.replayed + self.recovered_by_sweep

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recovered": self.recovered}


def eligible(row: IntegrationRow) -> bool:
    fd = row.config.get("flashduty") or {}
    return row.enabled and bool(row.flashduty_app_key_enc) and fd.get("recover_missed", True) is not False


class Recovery:
    def __init__(self, engine: Engine, settings: Settings, box: SecretBox, ingestor: Ingestor,
                 api: Callable[[FlashdutyConfig], RecoveryApi], wake: asyncio.Event, metrics: Metrics | None = None,
                 ) -> None:
        """`api`: the wiring's factory of paced Open API clients (bootstrap.Runtime.recovery_api)."""
        self.engine, self.settings, self.box, self.ingestor, self.api = engine, settings, box, ingestor, api
        self.metrics = metrics if metrics is not None else Metrics()
        self.wake = wake  # set when a person asks for a run now
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: run whatever is due, then sleep until the next check or a wake.
        The first check after a start runs every integration at once."""
        started = True
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.tick(all_due=started)
                started = False
            except Exception:  # the database is away: try again at the next check
                log.exception("recovery: could not check for due runs")
            waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=min(self.settings.recovery_interval, 5.0),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()

    async def tick(self, *, all_due: bool = False) -> list[RunReport]:
        """Run each eligible integration whose run is due (all, with `all_due`) and free;
        returns their reports."""
        now = time.time()
        async with write(self.engine) as conn:
            rows = [r for r in await store.candidates(conn) if eligible(r)]
            await store.ensure(conn, [r.id for r in rows], now)
            if all_due:
                await store.all_due(conn, [r.id for r in rows], now)
        reports = []
        for row in rows:
            async with write(self.engine) as conn:
                state = await store.claim(conn, row.id, self.owner, now, LEASE)
            if state is None:
                continue
            try:
                reports.append(await self._run(row, state))
            except Exception as exc:  # never hold the lease for long, nor stop the other integrations
                log.exception("recovery of integration %s failed", row.id)
                self.metrics.recovery_run(row.id, error=True, replayed=0, swept=0)
                async with write(self.engine) as conn:
                    await store.finish(conn, row.id, self.owner, next_run_at=now + self.settings.recovery_interval,
                                       history_until_ms=None, finished_at=time.time(),
                                       error=f"recovery failed: {type(exc).__name__}", report={}, recovered=0)
        return reports

    async def _run(self, row: IntegrationRow, state: store.RecoveryState) -> RunReport:
        started = time.time()
        report = RunReport()
        history_until: int | None = None
        cfg = decrypt(row, self.box).config.flashduty
        api = self.api(cfg)
        try:
            history_until = await self._replay(api, row, state, cfg.webhook_integration_id, report)
        except FlashdutyApiError as e:  # messages never hold the app key (flashduty_api.py)
            report.errors.append(f"reading failed deliveries: {e.message}")
        try:
            await self._sweep(api, row, report)
        except FlashdutyApiError as e:
            report.errors.append(f"comparing open incidents: {e.message}")
        finally:
            await api.aclose()
        report.api_calls, report.rate_limited = api.calls, api.rate_limited
        report.seconds = round(time.time() - started, 3)
        error = "; ".join(report.errors) or None
        self.metrics.recovery_run(row.id, error=error is not None, replayed=report.replayed,
                                  swept=report.recovered_by_sweep)
        if report.recovered or error:
            log.info("recovery of integration %s: %d recovered (%d replayed, %d by the sweep)%s", row.id,
                     report.recovered, report.replayed, report.recovered_by_sweep, f"; {error}" if error else "")
        async with write(self.engine) as conn:
            await store.finish(conn, row.id, self.owner, next_run_at=started + self.settings.recovery_interval,
                               history_until_ms=history_until, finished_at=time.time(), error=error,
                               report=report.as_dict(), recovered=report.recovered)
        return report

    # ------------------------------------------------------------ 1. replay failed deliveries
    async def _replay(self, api: RecoveryApi, row: IntegrationRow, state: store.RecoveryState,
                      fd_integration: int | None, report: RunReport) -> int:
        """Returns how far the history was read (ms), for the next run's window."""
        end = int(time.time() * 1000)
        start = state.history_until_ms - OVERLAP_MS if state.history_until_ms else int(row.created_at * 1000)
        start = min(max(start, end - RETENTION_MS), end - 1)
        report.window_start_ms, report.window_end_ms = start, end
        async for item in api.failed_deliveries(start, end, fd_integration):
            report.failed_deliveries += 1
            body = item.get("request_body")
            secret = delivery_secret(item)
            if not isinstance(body, str) or not webhook_secret_matches(secret, row.secret_hashes(time.time())):
                continue  # another integration's, or another service's
            report.ours += 1
            result = await self.ingestor.ingest(row.id, secret, body.encode())
            _count(report, result.status, result.body, replay=True)
            if report.failed_deliveries >= MAX_DELIVERIES:
                return _ms(item.get("event_time")) or end  # go on from here next time
        return end

    # ------------------------------------------------------------ 2. sweep open incidents
    async def _sweep(self, api: RecoveryApi, row: IntegrationRow, report: RunReport) -> None:
        after = 0
        while True:
            async with read(self.engine) as conn:
                batch = await store.open_incidents(conn, row.id, after, PAGE)
            if not batch:
                return
            after = batch[-1].row_id
            found = {str(i.get("incident_id")): i for i in await api.incidents([b.incident_id for b in batch])}
            now_ms = int(time.time() * 1000)
            for held in batch:
                item = found.get(held.incident_id)
                if item is None:
                    report.not_in_flashduty += 1
                    continue
                report.swept += 1
                changed = _int(item.get("updated_at"))
                if changed <= (held.updated_at or held.snapshot_time // 1000):
                    continue
                report.newer_in_flashduty += 1
                payload = {
                    "event_id": f"recovered:{held.incident_id}:{changed}", "event_type": RECOVERED,
                    # the change's time (Flashduty's seconds; never ahead of now), but always
                    # newer than the snapshot we hold, which it replaces
                    "event_time": max(held.snapshot_time + 1, min(changed * 1000, now_ms)),
                    "incident": item,
                }
                result = await self.ingestor.ingest_trusted(row.id, json.dumps(payload).encode())
                _count(report, result.status, result.body, replay=False)


def _count(report: RunReport, status: int, body: dict[str, Any], *, replay: bool) -> None:
    if status == 200 and body.get("status") == "duplicate":
        report.already_had += replay
    elif status == 200:
        if replay:
            report.replayed += 1
        else:
            report.recovered_by_sweep += 1
    else:
        report.refused += 1
        report.refusal = report.refusal or f"HTTP {status}: {body.get('message') or body.get('error')}"


def delivery_secret(item: dict[str, Any]) -> str | None:
    """Our webhook secret as the delivery carried it: the custom header, or `?secret=`."""
    headers = item.get("request_headers")
    found: Any = None
    if isinstance(headers, str) and headers.strip():
        try:
            parsed = json.loads(headers)
        except ValueError:  # raw header lines
            parsed = dict(line.split(":", 1) for line in headers.splitlines() if ":" in line)
        if isinstance(parsed, dict):
            found = next((v for k, v in parsed.items() if str(k).strip().lower() == SECRET_HEADER), None)
    if isinstance(found, list):
        found = found[0] if found else None
    if isinstance(found, str) and found.strip():
        return found.strip()
    query = parse_qs(urlsplit(str(item.get("endpoint") or "")).query)
    return (query.get("secret") or [None])[0]


def _int(value: Any) -> int:
    try:
        return int(value) if not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        return 0


def _ms(value: Any) -> int:
    """A history record's event_time: a formatted timestamp ("2026-04-12T13:31:11.357+08:00")."""
    try:
        return int(datetime.fromisoformat(str(value)).timestamp() * 1000)
    except ValueError:
        return 0
