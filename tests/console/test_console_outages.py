"""The console shows a paused Jira site (why, since when, next probe), each waiting incident's
next attempt, and retries every failed incident of an integration with one button."""
from __future__ import annotations

import logging

import pytest

from e2e.conftest import Stack, wait_until
from jira_sync.devtools.fake_jira import FakeJiraServer

from .conftest import Console


@pytest.fixture
def c(cloud_console: Stack):  # type: ignore[no-untyped-def]
    client = Console(cloud_console.service.url)
    client.sign_in()
    yield client
    client.close()


def test_retry_all_failed_from_the_integration_page(c, cloud_console: Stack, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="jira_sync")
    integration_id, hook = cloud_console.integration(check=False, project="REQ", severity_map=None)
    for _ in range(3):
        cloud_console.send(hook, cloud_console.flashduty.open_incident())
    wait_until(lambda: cloud_console.api.get("/api/queue").json()["failed"] == 3, what="three failed")
    page = c.get(f"/console/integrations/{integration_id}")
    assert "Retry all failed</button>" in page.text
    cloud_console.api.put(f"/api/integrations/{integration_id}", params={"check": "false"},
                          json={"field_map": [{"source": "incident_id", "target": "customfield_10060"}]})
    r = c.post(f"/console/integrations/{integration_id}/retry-failed", {})
    assert r.status_code == 200 and "3 failed incidents queued again." in r.text
    assert f"console: admin retried all 3 failed incidents of integration {integration_id}" in caplog.text
    cloud_console.synced(timeout=30)
    assert len(cloud_console.jira.issues) == 3
    assert "Retry all failed</button>" not in c.get(f"/console/integrations/{integration_id}").text


def test_a_paused_site_and_the_next_attempt_are_shown(c, cloud_console: Stack) -> None:  # type: ignore[no-untyped-def]
    integration_id, hook = cloud_console.integration()
    page = c.get(f"/console/integrations/{integration_id}")
    assert '<dd id="site-state"><span class="badge ok">sending</span>' in page.text
    assert cloud_console.jira_server is not None
    cloud_console.jira_server.stop()
    back_up = FakeJiraServer(cloud_console.jira, port=int(cloud_console.jira_url.rsplit(":", 1)[1]))
    try:
        cloud_console.send(hook, cloud_console.flashduty.open_incident(title="checkout is down"))
        page = wait_until(lambda: (p := c.get(f"/console/integrations/{integration_id}")) and
                          "Waiting for Jira" in p.text and p, what="the incident waiting for the site")
        site = page.text.split('<dd id="site-state">', 1)[1].split("</dd>", 1)[0]
        assert 'class="badge bad">paused' in site and "Cannot reach" in site
        assert "since " in site and "next probe in" in site
        assert "next attempt in" in page.text  # the waiting incident says when it is tried again
        assert "Jira paused" in c.get("/console/").text
        back_up.start()
        cloud_console.synced(timeout=60)
        page = c.get(f"/console/integrations/{integration_id}")
        assert '<dd id="site-state"><span class="badge ok">sending</span>' in page.text
    finally:
        back_up.stop()
