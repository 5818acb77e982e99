"""Parts 2 and 3: how fast an accepted webhook reaches Jira, and how many Jira requests
each change costs.

The Jira emulator runs in a thread of the bench process here (the ingest runs use a
separate process instead). That is the least perturbing way to time "webhook accepted ->
Jira write" on one clock: the bench sends one delivery at a time and then blocks (in a
socket read, then in a queue wait), so it holds no GIL while the emulator thread works;
the emulator stamps time.perf_counter() when its handler has applied the write (at
`http.response.start`), and nothing polls the service or Jira while a sample runs.
Polling the emulator's search instead would add requests, and its poll interval, to
every sample.
"""
from __future__ import annotations

import queue
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service_api import ServiceApi, WebhookClient

from jira_sync.devtools.fake_flashduty import FakeFlashduty
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer

SYNC_TIMEOUT = 20.0  # seconds for one change to reach Jira; far above anything healthy

CREATE = ("POST", re.compile(r"/rest/api/\d/issue$"))
PRIORITY_PUT = ("PUT", re.compile(r"/rest/api/\d/issue/[^/]+$"))


class TimedJira:
    """The Cloud emulator, served from a thread, recording when it answered each request."""

    def __init__(self) -> None:
        self.fake = FakeJira("cloud")
        self.answered: queue.Queue[tuple[str, str, int, float]] = queue.Queue()
        inner = self.fake.app

        async def stamping_app(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await inner(scope, receive, send)

            async def stamped(message: dict) -> None:
                if message["type"] == "http.response.start":  # the handler is done: the write is applied
                    self.answered.put((scope["method"], scope["path"], message["status"], time.perf_counter()))
                await send(message)

            await inner(scope, receive, stamped)

        self.fake.app = stamping_app  # FakeJiraServer serves `fake.app`
        self.server = FakeJiraServer(self.fake)
        self.url = ""

    def start(self) -> TimedJira:
        self.url = self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def forget_stamps(self) -> None:
        while True:
            try:
                self.answered.get_nowait()
            except queue.Empty:
                return

    def wait_for(self, what: tuple[str, re.Pattern[str]], timeout: float = SYNC_TIMEOUT) -> float:
        """perf_counter() at which the first matching request was answered with a 2xx."""
        method, path = what
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no {method} {path.pattern} reached Jira within {timeout:.0f}s")
            try:
                m, p, status, at = self.answered.get(timeout=left)
            except queue.Empty:
                continue
            if m == method and path.search(p) and 200 <= status < 300:
                return at


# ------------------------------------------------------------------ part 2
@dataclass
class WriteLatency:
    answer_ms: list[float] = field(default_factory=list)  # webhook write -> 200 read
    create_ms: list[float] = field(default_factory=list)  # i_new write -> issue created in Jira
    update_ms: list[float] = field(default_factory=list)  # severity change write -> priority PUT applied
    non_200: int = 0


def measure_write_latency(
    api: ServiceApi, client: WebhookClient, jira: TimedJira, fd: FakeFlashduty, count: int
) -> WriteLatency:
    out = WriteLatency()
    opened: list[str] = []
    for _ in range(count):
        payload = fd.open_incident()
        opened.append(payload["incident"]["incident_id"])
        out.create_ms.append(_one(api, client, jira, payload, CREATE, out))
    for iid in opened:
        out.update_ms.append(_one(api, client, jira, fd.set_severity(iid, "Warning"), PRIORITY_PUT, out))
    return out


def _one(api: ServiceApi, client: WebhookClient, jira: TimedJira, payload: dict[str, Any],
         what: tuple[str, re.Pattern[str]], out: WriteLatency) -> float:
    jira.forget_stamps()
    status, t0, answered = client.send(payload)
    if status != 200:
        out.non_200 += 1
    out.answer_ms.append((answered - t0) * 1000.0)
    written = jira.wait_for(what)
    api.wait_drained(SYNC_TIMEOUT)  # the worker records the write; let it finish before the next sample
    return (written - t0) * 1000.0


# ------------------------------------------------------------------ part 3
STEPS: list[tuple[str, Callable[[FakeFlashduty, str], dict[str, Any]]]] = [
    ("new", lambda fd, iid: fd.open_incident()),
    ("severity", lambda fd, iid: fd.set_severity(iid, "Warning")),
    ("ack", lambda fd, iid: fd.ack(iid)),
    ("comment", lambda fd, iid: fd.add_comment(iid, "Rebooting the replica", author="Bob")),
    ("resolve", lambda fd, iid: fd.resolve(iid)),
]

Requests = list[str]  # "POST /issue/{id}/transitions", ...


@dataclass
class Lifecycle:
    jira: dict[str, Requests] = field(default_factory=dict)  # step -> Jira requests it caused
    flashduty: dict[str, int] = field(default_factory=dict)  # step -> Flashduty Open API requests
    non_200: int = 0


def count_lifecycles(api: ServiceApi, client: WebhookClient, jira: TimedJira, fd: FakeFlashduty,
                     n: int) -> list[Lifecycle]:
    """`n` incidents through new -> severity -> ack -> comment -> resolve, one change at a
    time (each synced before the next, so nothing coalesces), and the requests each caused."""
    lives: list[Lifecycle] = []
    for _ in range(n):
        life, iid = Lifecycle(), ""
        for step, change in STEPS:
            jira_before, fd_before = len(jira.fake.request_log), len(fd.requests)
            payload = change(fd, iid)
            iid = payload["incident"]["incident_id"]
            status, _, _ = client.send(payload)
            life.non_200 += status != 200
            api.wait_drained(SYNC_TIMEOUT)
            life.jira[step] = [_template(m, p, s) for m, p, s in jira.fake.request_log[jira_before:]]
            life.flashduty[step] = len(fd.requests) - fd_before
        lives.append(life)
    return lives


def _template(method: str, path: str, status: int | None) -> str:
    """POST /rest/api/3/issue/10012/transitions -> POST /issue/{id}/transitions (with a non-2xx status)."""
    path = re.sub(r"^/rest/api/\d", "", path)
    path = re.sub(r"/(\d+|[A-Z][A-Z0-9]*-\d+)(?=/|$)", "/{id}", path)
    suffix = "" if status is not None and 200 <= status < 300 else f" -> {status}"
    return f"{method} {path}{suffix}"
