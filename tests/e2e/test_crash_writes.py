"""kill -9 between a Jira write and its record: a comment posted once, a priority that ends where
the incident asks (A -> B -> A). The service runs as a process; the emulators in threads."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from support import ADMIN_TOKEN
from jira_sync.devtools.fake_flashduty import FakeFlashduty, WebhookSender
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer
from e2e.conftest import wait_until


def _serve(settings, port: int) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = dict(
        os.environ,
        JIRA_SYNC_DATABASE_URL=settings.database_url,
        JIRA_SYNC_SECRET_KEY=settings.secret_key.get_secret_value(),
        JIRA_SYNC_ADMIN_TOKEN=ADMIN_TOKEN,
        JIRA_SYNC_PORT=str(port),
        JIRA_SYNC_LEASE_SECONDS="3",
        JIRA_SYNC_JIRA_TIMEOUT="30",
    )
    proc = subprocess.Popen([sys.executable, "-m", "jira_sync", "serve"], env=env, cwd=os.path.dirname(__file__))
    wait_until(lambda: _up(port), timeout=30, what="service start")
    return proc


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Crashable:
    """The service as a process to kill -9, the Jira and Flashduty emulators, one integration."""

    def __init__(self, settings, flavour: str) -> None:  # type: ignore[no-untyped-def]
        from jira_sync.devtools.fake_flashduty import FakeFlashdutyServer

        self.settings, self.flavour = settings, flavour
        self.jira = FakeJira(flavour)
        self.jira_server = FakeJiraServer(self.jira)
        self.jira_server.start()
        self.fd = FakeFlashduty()
        self.fd_server = FakeFlashdutyServer(self.fd)
        self.fd_server.start()
        self.port = _free_port()
        self.proc = _serve(settings, self.port)
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        login = {"cloud": ("admin@example.com", "cloud-token"), "server": ("admin", "secret")}[flavour]
        created = self.api.post("/api/integrations", json={
            "name": "crash", "project": "OPS", "issue_type": "10001",
            "severity_map": {"Critical": "Highest", "Warning": "Medium", "Info": "Low"},
            "jira": {"platform": flavour, "url": self.jira_server.url, "username": login[0], "secret": login[1]},
            "flashduty": {"base_url": self.fd_server.url, "app_key": self.fd.app_key},
        })
        assert created.status_code == 201, created.text
        self.integration_id = created.json()["id"]
        hook = created.json()["webhook"]
        self.sender = WebhookSender(hook["url"], {hook["header"]: hook["secret"]})

    def send(self, payload) -> None:  # type: ignore[no-untyped-def]
        assert self.sender.send(payload) == 200

    def synced(self, timeout: float = 30) -> None:
        wait_until(lambda: (q := self.api.get("/api/queue").json())["waiting"] == 0 and q["in_flight"] == 0,
                   timeout=timeout, what="the queue to drain")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def restart(self) -> None:
        self.proc = _serve(self.settings, self.port)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.sender.close()
        self.api.close()
        self.fd_server.stop()
        self.jira_server.stop()


@pytest.fixture(params=["cloud", "server"])
def crashable(request, settings):  # type: ignore[no-untyped-def]
    c = Crashable(settings, request.param)
    yield c
    c.close()


def test_killed_between_comment_post_and_record_posts_it_once(crashable: Crashable) -> None:
    """The comment lands in Jira, the process dies before recording it: the next process finds
    it (Jira lists comments without their properties: the mark in its body) and posts no twin."""
    c = crashable
    new = c.fd.open_incident()
    incident_id = new["incident"]["incident_id"]
    c.send(new)
    c.synced()
    [issue] = c.jira.issues_with_label(f"flashduty-{incident_id}")
    c.jira.faults.add(method="POST", path=r"/comment$", kind="lost_response", times=1, delay=60)
    c.send(c.fd.add_comment(incident_id, "rebooting db-1", author="Bob"))
    wait_until(lambda: issue.comments, what="the comment to land in Jira")
    c.kill()
    c.restart()
    c.synced()
    time.sleep(0.5)
    assert len(issue.comments) == 1 and "rebooting db-1" in str(issue.comments[0].body)
    assert c.jira.count_requests("POST", r"/comment$") == 1
    c.send(c.fd.add_comment(incident_id, "back up", author="Bob"))  # and the next one still goes, once
    c.synced()
    assert len(issue.comments) == 2


def test_killed_after_a_priority_write_ends_where_the_incident_asks(crashable: Crashable) -> None:
    """A -> B -> A: the priority PUT for B returns 2xx and the process dies before recording it.
    When the incident asks for A again, Jira must end at A, not stay at B."""
    c = crashable
    new = c.fd.open_incident(incident_severity="Critical")  # A: Highest (1)
    incident_id = new["incident"]["incident_id"]
    c.send(new)
    c.synced()
    [issue] = c.jira.issues_with_label(f"flashduty-{incident_id}")
    assert issue.fields["priority"]["id"] == "1"
    # B and an acknowledgement in one reconcile: the PUT lands, the transition hangs, the process dies
    assert c.api.post(f"/api/integrations/{c.integration_id}/disable").status_code == 200
    c.send(c.fd.set_severity(incident_id, "Warning"))
    c.send(c.fd.ack(incident_id))
    c.jira.faults.add(method="POST", path=r"/transitions$", kind="timeout", times=1, delay=60)
    assert c.api.post(f"/api/integrations/{c.integration_id}/enable").status_code == 200
    wait_until(lambda: c.jira.count_requests("POST", r"/transitions$"), what="the transition to be sent")
    assert issue.fields["priority"]["id"] == "3"  # B reached Jira...
    # (disabled, so the next process syncs only once A has arrived: it cannot make B again first)
    assert c.api.post(f"/api/integrations/{c.integration_id}/disable").status_code == 200
    c.kill()  # ...and was never recorded
    c.jira.faults.clear()
    c.restart()
    c.send(c.fd.set_severity(incident_id, "Critical"))  # back to A
    assert c.api.post(f"/api/integrations/{c.integration_id}/enable").status_code == 200
    c.synced()
    time.sleep(0.5)
    assert issue.fields["priority"]["id"] == "1"
    assert issue.status_name == "In Progress"
