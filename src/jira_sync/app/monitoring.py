"""`/metrics`: the counters this process (or every process) kept, and the gauges read now."""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..jira.ratelimit import site_key
from ..observe.metrics import Metrics, QueueGauges, Snapshot
from ..store.db import Engine, read
from ..store.monitoring import read_monitoring
from ..sync.sites import state_of


@dataclass
class Monitoring:
    engine: Engine
    metrics: Metrics

    async def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text format and its content type. Raises if the database is away
        (the caller answers 503: a scrape that fails is itself the alert)."""
        async with read(self.engine) as conn:
            found = await read_monitoring(conn)
        now = time.time()
        queues = {
            iid: QueueGauges(depth=q.pending, failed=q.failed,
                             oldest_waiting_seconds=round(now - q.oldest_pending_since, 3) if q.oldest_pending_since else 0.0)
            for iid, q in found.queues.items()
        }
        paused: dict[str, set[str]] = {site_key(url): set() for url in found.sites.values() if url}
        for row in found.pauses:
            if state_of(row, now) != "ok":
                paused.setdefault(site_key(row.url), set()).add(row.reason)
        return self.metrics.exposition(Snapshot(queues=queues, paused=paused))
