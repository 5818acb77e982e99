"""Incident Webhook integrations and delivery like Flashduty's (flashduty.md §1, the docs'
`incident-webhook.mdx`), each delivery recorded in the history.

An integration has Flashduty's int64 id, an endpoint, custom headers (sent on every push),
TLS verification (on by default), a channel scope (None = all channels) and subscribed
event types (None = all). A push is `POST` of the compact JSON payload with
`Content-Type: application/json`, timeout 2 s, success only on HTTP 200, at most one retry,
and only after the network errors the docs list: "context deadline exceeded (excluding
awaiting headers)", "i/o timeout", "eof". So a slow answer (timeout awaiting headers), a
refused connection (inferred, settable) and any status code are final.

Deliveries run synchronously in the thread that made the change (after the emulator's lock
is released, so a receiver may call the Open API back), or on one worker thread, in order:
always for Open API writes (the server must keep answering), when `deliver_in_background`
is set, and when the changing thread runs an event loop. The worker exits when idle.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from jira_sync.devtools.fake_flashduty.history import HistoryRecord
from jira_sync.devtools.fake_flashduty.sender import _body

if TYPE_CHECKING:
    from jira_sync.devtools.fake_flashduty.state import FakeFlashduty

_FIRST_INTEGRATION_ID = 5321026051131  # the spec example's style of id


@dataclass
class WebhookIntegration:
    integration_id: int
    endpoint: str
    headers: dict[str, str]
    channel_ids: frozenset[int] | None = None  # None = all channels
    event_types: frozenset[str] | None = None  # None = every event type
    name: str = "Incident Webhook"
    verify: bool = True  # TLS verification
    down: bool | str = False  # this receiver only: see FakeSettings.webhooks_down

    def matches(self, payload: dict[str, Any]) -> bool:
        inc = payload.get("incident") or {}
        if self.channel_ids is not None and inc.get("channel_id", 0) not in self.channel_ids:
            return False
        return self.event_types is None or payload.get("event_type") in self.event_types


@dataclass
class _Job:
    hook: WebhookIntegration
    payload: dict[str, Any]
    body: bytes = b""


@dataclass
class _Outcome:
    status_code: int = 0
    error: str = ""
    retry: bool = False
    headers: str = ""
    body: str = ""


class Deliverer:
    def __init__(self, fake: FakeFlashduty) -> None:
        self.fake = fake
        self.hooks: dict[int, WebhookIntegration] = {}
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._busy = 0  # queued + being delivered by the worker

    # ------------------------------------------------------------ integrations
    def add(self, endpoint: str, **kw: Any) -> WebhookIntegration:
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError("the endpoint must start with http:// or https:// (as in Flashduty)")
        iid = kw.pop("integration_id", None) or _FIRST_INTEGRATION_ID + 1000 * len(self.hooks)
        for name in ("channel_ids", "event_types"):
            if kw.get(name) is not None:
                kw[name] = frozenset(kw[name])
        hook = WebhookIntegration(iid, endpoint, dict(kw.pop("headers", None) or {}), **kw)
        self.hooks[iid] = hook
        return hook

    def plan(self, payload: dict[str, Any]) -> list[_Job]:
        """The deliveries one payload makes (called under the emulator's lock)."""
        return [_Job(h, payload) for h in self.hooks.values() if h.matches(payload)]

    # ------------------------------------------------------------ dispatch
    def dispatch(self, jobs: list[_Job], *, background: bool) -> None:
        for job in jobs:
            job.body = _body(job.payload)  # serialized now: the caller may change the dict
        if not background:
            for job in jobs:
                self.deliver(job)
            return
        with self._cond:
            self._queue.extend(jobs)
            self._busy += len(jobs)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="fake-flashduty-webhooks",
                                                 daemon=True)
                self._worker.start()
            self._cond.notify_all()

    def wait(self, timeout: float = 10.0) -> None:
        """Block until the worker has made every queued delivery."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._busy == 0, timeout):
                raise TimeoutError(f"{self._busy} webhook deliveries still pending")

    async def await_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._busy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._busy} webhook deliveries still pending")
            await asyncio.sleep(0.01)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._cond.wait(0.5)
                if not self._queue:
                    self._worker = None  # idle: exit; the next dispatch starts another
                    return
                job = self._queue.popleft()
            try:
                self.deliver(job)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    # ------------------------------------------------------------ one delivery
    def deliver(self, job: _Job) -> HistoryRecord:
        fake, hook, s = self.fake, job.hook, self.fake.settings
        headers = {**hook.headers, "Content-Type": "application/json"}
        inc = job.payload.get("incident") or {}
        now_ms = int(fake.clock() * 1000)
        payload_id = str(job.payload.get("event_id", ""))
        record = fake.history.add(HistoryRecord(
            integration_id=hook.integration_id,
            event_id=payload_id if s.history_event_id == "payload" else
            fake.history.new_id(now_ms, s.time_zone),
            event_type=str(job.payload.get("event_type", "")),
            channel_id=int(inc.get("channel_id") or 0), ref_id=str(inc.get("incident_id", "")),
            endpoint=hook.endpoint, request_headers=json.dumps(headers, separators=(",", ":")),
            request_body=job.body.decode(), event_ms=int(job.payload.get("event_time") or now_ms),
            seq=0,
        ))
        total_ms, tries = 0, []
        with httpx.Client(timeout=s.webhook_timeout, verify=hook.verify) as client:
            for attempt in (1, 2):
                started = time.monotonic()
                out = self._attempt(client, hook, job.body, headers)
                spent = max(1, round((time.monotonic() - started) * 1000))
                if out.error and "Client.Timeout" in out.error and (hook.down or s.webhooks_down):
                    spent = round(s.webhook_timeout * 1000)  # a simulated timeout takes its time
                total_ms += spent
                tries.append({"attempt": attempt, "status_code": out.status_code,
                              "error_message": out.error, "duration": spent})
                ok = out.status_code == 200 and not out.error
                fake.history.update(
                    record, attempt=attempt, duration=total_ms, status="success" if ok else "failed",
                    status_code=out.status_code, error_message="" if ok else out.error,
                    response_headers=out.headers if ok else "", response_body=out.body if ok else "",
                    attempts=list(tries))
                if not out.retry:
                    break
        return record

    def _attempt(self, client: httpx.Client, hook: WebhookIntegration, body: bytes,
                 headers: dict[str, str]) -> _Outcome:
        s, where = self.fake.settings, f'Post "{hook.endpoint}"'
        down = hook.down or s.webhooks_down
        if down:
            mode = "refused" if down is True else str(down)
            return _simulated(mode, where, hook.endpoint, s.retry_connection_refused)
        try:
            resp = client.post(hook.endpoint, content=body, headers=headers)
        except httpx.ConnectTimeout:
            return _Outcome(error=f"{where}: dial tcp {_host(hook.endpoint)}: i/o timeout", retry=True)
        except httpx.ConnectError as e:
            return _Outcome(error=f"{where}: dial tcp {_host(hook.endpoint)}: {e or 'connect failed'}",
                            retry=s.retry_connection_refused)
        except httpx.ReadTimeout:
            return _Outcome(error=f"{where}: context deadline exceeded "
                                  "(Client.Timeout exceeded while awaiting headers)")
        except (httpx.WriteTimeout, httpx.PoolTimeout):
            return _Outcome(error=f"{where}: context deadline exceeded", retry=True)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            return _Outcome(error=f"{where}: EOF", retry=True)
        except httpx.HTTPError as e:
            return _Outcome(error=f"{where}: {e or type(e).__name__}")
        out = _Outcome(status_code=resp.status_code,
                       headers=json.dumps(dict(resp.headers), separators=(",", ":")),
                       body=resp.text)
        if resp.status_code != 200:
            out.error = f"unexpected status code: {resp.status_code}"  # wording inferred
        return out


def _simulated(mode: str, where: str, endpoint: str, retry_refused: bool) -> _Outcome:
    if mode == "timeout":
        return _Outcome(error=f"{where}: context deadline exceeded "
                              "(Client.Timeout exceeded while awaiting headers)")
    if mode == "eof":
        return _Outcome(error=f"{where}: EOF", retry=True)
    return _Outcome(error=f"{where}: dial tcp {_host(endpoint)}: connect: connection refused",
                    retry=retry_refused)


def _host(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
