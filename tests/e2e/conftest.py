"""The whole product on loopback: the service (uvicorn + worker), the Jira emulator and the
Flashduty emulator, all real HTTP servers. Tests assert on the emulators' final state."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer, WebhookSender
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer
from jira_sync.settings import Settings
from support import ADMIN_TOKEN
from support.service import Api, ServiceThread

# the emulator's FLOW project: Open -> Triage -> In Progress -> Resolved -> Closed
FLOW_STATUSES = {"triggered": "Open", "processing": "In Progress", "closed": "Closed"}

CREDENTIALS = {
    "cloud": {"platform": "cloud", "username": "admin@example.com", "secret": "cloud-token"},
    "server": {"platform": "server", "username": "admin", "secret": "secret"},
}


@dataclass
class Stack:
    jira: FakeJira
    jira_url: str
    flashduty: FakeFlashduty
    flashduty_url: str
    service: ServiceThread
    api: Api
    flavour: str
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
        sender = WebhookSender(hook["url"], {hook["header"]: hook["secret"]})
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


def make_stack(settings: Settings, flavour: str, *, run_worker: bool = True, **jira_kw: Any):  # type: ignore[no-untyped-def]
    jira = FakeJira(flavour, **jira_kw)
    jira_server = FakeJiraServer(jira)
    jira_url = jira_server.start()
    fd = FakeFlashduty()
    fd_server = FakeFlashdutyServer(fd)
    fd_url = fd_server.start()
    settings.jira_timeout = 2.0
    service = ServiceThread(settings, run_worker=run_worker).start()
    stack = Stack(jira, jira_url, fd, fd_url, service, Api(service.url, ADMIN_TOKEN), flavour, jira_server=jira_server)

    def stop() -> None:
        for s in stack.senders:
            s.close()
        stack.api.close()
        service.stop()
        fd_server.stop()
        jira_server.stop()

    return stack, stop


@pytest.fixture(params=["cloud", "server"])
def stack(request: pytest.FixtureRequest, settings: Settings):  # type: ignore[no-untyped-def]
    s, stop = make_stack(settings, request.param)
    yield s
    stop()


@pytest.fixture
def cloud(settings: Settings):  # type: ignore[no-untyped-def]
    s, stop = make_stack(settings, "cloud")
    yield s
    stop()
