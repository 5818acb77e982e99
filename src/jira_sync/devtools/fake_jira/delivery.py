"""Sending webhooks in the background: worker threads, Cloud's retries, the delivery log.

Deliveries never block the API call that caused them. Cloud retries on 408, 409, 425, 429,
5xx, a timeout or a failed connection (developer.atlassian.com, "Webhooks", retry policy;
"up to 30 minutes"), after `site.webhook_retry_delays` (default 10 s doubling to 640 s:
~21 minutes, inferred), with the same `X-Atlassian-Webhook-Identifier` and an
`X-Atlassian-Webhook-Retry: <n>` header. Server/DC tries once. `site.drop_webhooks = True`
loses each delivery instead (logged with `dropped=True`, never retried): what polling must
catch up with.
"""
from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .state import FakeJira

RETRY_STATUSES = frozenset({408, 409, 425, 429})
WORKERS = 4


@dataclass(slots=True)
class Delivery:
    """One attempt: `status` is None when no HTTP answer came (timeout, refused, dropped)."""

    webhook_id: int
    url: str
    event: str
    identifier: str
    attempt: int
    status: int | None
    error: str | None
    dropped: bool
    at: float  # epoch seconds (real time)
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)

    @property
    def payload(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(slots=True)
class Job:
    webhook_id: int
    url: str
    secret: str | None
    event: str
    identifier: str
    body: bytes
    generation: int
    attempt: int = 1


class Dispatcher:
    def __init__(self, site: "FakeJira") -> None:
        self.site = site
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._closed = False
        self._generation = 0
        self._log: list[Delivery] = []
        self._local = threading.local()

    def submit(self, job: Job, delay: float = 0.0) -> None:
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
            if not self._threads:
                for n in range(WORKERS):
                    t = threading.Thread(target=self._work, name=f"fake-jira-webhooks-{n}", daemon=True)
                    t.start()
                    self._threads.append(t)
            self._cond.notify()

    @property
    def generation(self) -> int:
        return self._generation

    def reset(self) -> None:
        """Forget queued deliveries and the log (in-flight ones finish unlogged)."""
        with self._cond:
            self._generation += 1
            self._heap.clear()
            self._log.clear()
            self._cond.notify_all()

    def log(self) -> list[Delivery]:
        with self._cond:
            return list(self._log)

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
        for t in self._threads:
            t.join(2)
        self._threads = []

    def _work(self) -> None:
        try:
            self._loop()
        finally:
            client = getattr(self._local, "client", None)
            if client is not None:
                client.close()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        _, _, job = heapq.heappop(self._heap)
                        if job.generation == self._generation:
                            self._busy += 1
                            break
                        continue
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
            try:
                self._attempt(job)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _attempt(self, job: Job) -> None:
        site = self.site
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        if site.cloud:
            headers["User-Agent"] = "Atlassian Webhook HTTP Client"
            headers["X-Atlassian-Webhook-Identifier"] = job.identifier
            if job.attempt > 1:
                headers["X-Atlassian-Webhook-Retry"] = str(job.attempt - 1)
        if job.secret and site.signs_webhooks:
            digest = hmac.new(job.secret.encode(), job.body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        status: int | None = None
        error: str | None = None
        dropped = bool(site.drop_webhooks)
        if dropped:
            error = "dropped (drop_webhooks)"
        else:
            try:
                r = self._client().post(job.url, content=job.body, headers=headers,
                                        timeout=float(site.webhook_timeout_s))
                status = r.status_code
            except httpx.HTTPError as e:
                error = f"{type(e).__name__}: {e}"
        record = Delivery(job.webhook_id, job.url, job.event, job.identifier, job.attempt, status, error,
                          dropped, time.time(), job.body, headers)
        retry = not dropped and site.cloud and (status is None or status in RETRY_STATUSES or status >= 500)
        delays = tuple(site.webhook_retry_delays)
        with self._cond:
            if job.generation != self._generation:
                return
            self._log.append(record)
        if retry and job.attempt <= len(delays):
            delay = float(delays[job.attempt - 1])
            job.attempt += 1
            self.submit(job, delay)

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(trust_env=False, follow_redirects=False)
        return client
