"""The whole product: the service (app + worker), the Jira emulator and the Flashduty emulator.
Tests assert on the emulators' final state.

Two ways to run it, with the same `Stack`:
- `stack` (cloud and server) and `cloud`: in-process, no socket (`support.service`). The
  default: pick these unless the test needs what only a socket shows.
- `stack_over_http` and `cloud_over_http`: everything on loopback ports, as real servers.
  For lost answers and timeouts (the `faults` kinds "lost_response" and "timeout": only a
  server can drop a connection or make a client wait), and for anything outside this
  process that must reach the service or the emulators (the CLI, worker processes, a browser).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import pytest

from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer, WebhookSender
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer
from jira_sync.settings import Settings
from support import ADMIN_TOKEN
from support.configs import CREDENTIALS, FLASHDUTY_URL, JIRA_URL
from support.service import Api, InProcessService, Service, ServiceThread, emulators

# the emulator's FLOW project: Open -> Triage -> In Progress -> Resolved -> Closed
FLOW_STATUSES = {"triggered": "Open", "processing": "In Progress", "closed": "Closed"}


@dataclass
class Stack:
    jira: FakeJira
    jira_url: str
    flashduty: FakeFlashduty
    flashduty_url: str
    service: Service
    api: Api
    flavour: str
    http: httpx.Client  # the service without the API token: webhooks, health, refusals
    senders: list[WebhookSender] = field(default_factory=list)
    jira_server: FakeJiraServer | None = None  # to stop Jira for an outage (and start it again)

    def config(self, **overrides: Any) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "name": f"ops-{len(self.senders)}",
            "jira": {"url": self.jira_url, **CREDENTIALS[self.flavour]},
            "trigger": "automatic",
            "project": "OPS",
            "issue_type": "10001",
            "severity_map": {"Critical": "Highest", "Warning": "Medium", "Info": "Low"},
            "flashduty": {"base_url": self.flashduty_url, "app_key": self.flashduty.app_key},
        }
        cfg.update(overrides)
        return cfg

    def integration(self, check: bool = True, **overrides: Any) -> tuple[int, WebhookSender]:
        created = self.api.create_integration(self.config(**overrides), check=str(check).lower())
        hook = created["webhook"]
        sender = self.service.sender(hook["url"], {hook["header"]: hook["secret"]})
        self.senders.append(sender)
        return created["id"], sender

    def send(self, sender: WebhookSender, payload: dict[str, Any]) -> None:
        status = sender.send(payload)
        assert status == 200, status

    def synced(self, timeout: float = 20.0) -> dict[str, Any]:
        return self.api.wait_synced(timeout)

    def issue_for(self, incident_id: str) -> Any:
        found = self.jira.issues_with_label(f"flashduty-{incident_id}")
        assert len(found) == 1, f"expected exactly one issue for {incident_id}, found {len(found)}"
        return found[0]


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def make_stack(settings: Settings, flavour: str, *, run_worker: bool = True, over_http: bool = False,
               jira_timeout: float = 2.0, **jira_kw: Any):  # type: ignore[no-untyped-def]
    """A started stack and its `stop`; in-process unless `over_http` (see the module docstring).
    `jira_timeout`: short, so that faults which hold an answer make the client give up quickly."""
    jira = FakeJira(flavour, **jira_kw)
    fd = FakeFlashduty()
    settings.jira_timeout = jira_timeout
    servers: list[Any] = []
    service: Service
    if over_http:
        servers = [FakeJiraServer(jira), FakeFlashdutyServer(fd)]
        jira_url, fd_url = (server.start() for server in servers)
        service = ServiceThread(settings, run_worker=run_worker).start()
    else:
        jira_url, fd_url = JIRA_URL, FLASHDUTY_URL
        service = InProcessService(settings, run_worker=run_worker, transport=emulators(jira, fd)).start()
    stack = Stack(jira, jira_url, fd, fd_url, service, Api(service, ADMIN_TOKEN), flavour, service.client(),
                  jira_server=servers[0] if servers else None)

    def stop() -> None:
        for s in stack.senders:
            s.close()
        stack.api.close()
        stack.http.close()
        service.stop()
        for server in reversed(servers):
            server.stop()

    return stack, stop


def _stack(settings: Settings, flavour: str, **kw: Any):  # type: ignore[no-untyped-def]
    s, stop = make_stack(settings, flavour, **kw)
    yield s
    stop()


@pytest.fixture(params=["cloud", "server"])
def stack(request: pytest.FixtureRequest, settings: Settings):  # type: ignore[no-untyped-def]
    yield from _stack(settings, request.param)


@pytest.fixture
def cloud(settings: Settings):  # type: ignore[no-untyped-def]
    yield from _stack(settings, "cloud")


@pytest.fixture(params=["cloud", "server"])
def stack_over_http(request: pytest.FixtureRequest, settings: Settings):  # type: ignore[no-untyped-def]
    yield from _stack(settings, request.param, over_http=True)


@pytest.fixture
def cloud_over_http(settings: Settings):  # type: ignore[no-untyped-def]
    yield from _stack(settings, "cloud", over_http=True)
